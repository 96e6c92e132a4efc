// Rule names for the refusals EST makes itself, before or beside the policy (authentication, a
// request it cannot read, a broken channel binding, a reenrollment that changes names). They are
// recorded through the Issuer like every other refusal. The colon keeps them apart from policy
// rule names, which are lower-case letters, digits and "-" only.

export const EST_RULES = {
  authentication: 'est:authentication',
  request: 'est:request',
  channelBinding: 'est:channel-binding',
  reenroll: 'est:reenroll',
} as const;
