// The policy written for the development / embedded mode: enough to issue Kubernetes workloads
// their service-account identities and to let them renew, nothing more. It is a starting point
// to copy and edit, so it explains itself in comments.

export interface DefaultPolicyOptions {
  readonly trustDomain: string;
  /** `iss` of the service-account tokens the API accepts. */
  readonly tokenIssuer: string;
  /** The audience those tokens must be minted for. */
  readonly audience: string;
}

/** YAML double-quoted scalars accept JSON string syntax, so any value is quoted safely. */
const q = (s: string): string => JSON.stringify(s);

export function defaultPolicyYaml(opts: DefaultPolicyOptions): string {
  return `# workload-ca policy (generated for development; edit freely, then run
# \`workload-ca policy check <file>\` before deploying it).
#
# Rules are tried in order; the first whose \`match\` fits the requester decides.
# A request that no rule matches is denied ("default-deny").
version: 1

guardrails:
  # Every certificate names an identity in this trust domain, and only this one.
  trustDomain: ${q(opts.trustDomain)}
  # Subject keys the CA accepts at all. Rules may narrow this list, never widen it.
  keyAlgorithms: [ecdsa-p256]
  # The longest lifetime any rule may grant. Short-lived certificates are the point:
  # workloads renew, and a leaked key stops working on its own.
  maxLifetime: 24h

rules:
  # Kubernetes pods present their projected service-account token over the API and get
  #   spiffe://<trust domain>/ns/<namespace>/sa/<service account>
  # Namespace and service-account names come from the token, which the issuer signed; the
  # template only accepts single path segments, so no claim can reshape the ID.
  - name: kubernetes-service-accounts
    match:
      paths: [api]
      token:
        issuer: ${q(opts.tokenIssuer)}
        claims:
          # The API already checks the audience; matching it here as well keeps this rule from
          # applying to tokens minted for some other service by the same issuer.
          aud: ${q(opts.audience)}
          # Present with any value: only service-account tokens carry it.
          kubernetes.io.namespace: "*"
    grant:
      spiffeId: 'spiffe://{trustDomain}/ns/{claims["kubernetes.io"].namespace}/sa/{claims["kubernetes.io"].serviceaccount.name}'
      defaultLifetime: 1h
      maxLifetime: 24h

  # A workload holding a current certificate from this CA (mTLS) may renew it, for its own
  # SPIFFE ID only: the grant is the requester's ID itself, so it cannot ask for another.
  - name: svid-renewal
    match:
      paths: [api]
      svid:
        spiffeId: ${q(`spiffe://${opts.trustDomain}/*`)}
    grant:
      spiffeId: '{requester.spiffeId}'

  # VMs use ACME (certbot, lego, ...) with an external account binding made by
  # \`workload-ca acme eab create --binding NAME\`. Accounts of binding NAME may order names
  # under NAME.vm.${opts.trustDomain} and get spiffe://<trust domain>/vm/NAME/<first DNS name>.
  - name: acme-vms
    match:
      paths: [acme]
      acme:
        binding: "*"
    grant:
      spiffeId: 'spiffe://{trustDomain}/vm/{binding}/{dnsName}'
      dnsNames: [${q(`*.{binding}.vm.${opts.trustDomain}`)}]
      defaultLifetime: 24h
      maxLifetime: 24h
`;
}
