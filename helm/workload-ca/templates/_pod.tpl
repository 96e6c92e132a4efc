{{/* What the API and worker pods share: config, policy and CA keys mounted read-only, writable emptyDirs. */}}
{{- define "workload-ca.volumeMounts" -}}
- { name: config, mountPath: /etc/workload-ca/config, readOnly: true }
- { name: policy, mountPath: /etc/workload-ca/policy, readOnly: true }
- { name: ca, mountPath: /etc/workload-ca/ca, readOnly: true }
{{- if .Values.secrets.tls }}
- { name: tls, mountPath: /etc/workload-ca/tls, readOnly: true }
{{- end }}
{{- if .Values.secrets.admin }}
- { name: admin, mountPath: /etc/workload-ca/admin, readOnly: true }
{{- end }}
- { name: data, mountPath: /var/lib/workload-ca }
- { name: tmp, mountPath: /tmp }
{{- end }}

{{- define "workload-ca.volumes" -}}
- name: config
  configMap: { name: {{ include "workload-ca.fullname" . }}-config }
- name: policy
  configMap: { name: {{ include "workload-ca.fullname" . }}-policy }
- name: ca
  secret: { secretName: {{ .Values.secrets.ca }}, defaultMode: 0440 }
{{- if .Values.secrets.tls }}
- name: tls
  secret: { secretName: {{ .Values.secrets.tls }}, defaultMode: 0440 }
{{- end }}
{{- if .Values.secrets.admin }}
- name: admin
  secret: { secretName: {{ .Values.secrets.admin }}, defaultMode: 0440 }
{{- end }}
- name: data
  emptyDir: { sizeLimit: 64Mi }
- name: tmp
  emptyDir: { sizeLimit: 64Mi }
{{- end }}

{{- define "workload-ca.commonEnv" -}}
{{ include "workload-ca.backendEnv" . }}
- name: WORKLOAD_CA_CONFIG
  value: /etc/workload-ca/config/config.yaml
# Every replica authenticates ACME nonces with this one secret of its own (not the CA key).
- name: WORKLOAD_CA_ACME_NONCE_KEY_FILE
  value: /etc/workload-ca/ca/acme-nonce.key
{{- if .Values.secrets.caPassphraseKey }}
- name: WORKLOAD_CA_KEY_PASSPHRASE_FILE
  value: /etc/workload-ca/ca/{{ .Values.secrets.caPassphraseKey }}
{{- end }}
{{- if .Values.secrets.admin }}
- name: WORKLOAD_CA_ADMIN_TOKEN_FILE
  value: /etc/workload-ca/admin/token
{{- end }}
{{- end }}
