/**
 * The subset of Kubernetes' generated.proto messages that kubectl 1.32+ sends
 * as protobuf request bodies (typed-client commands: auth can-i/whoami, create
 * token, and the `kubectl create <generator>` family). Field numbers follow
 * upstream's k8s.io/api and apimachinery generated.proto; only the fields are
 * listed that those requests can carry (plus a few close neighbours).
 *
 * Field options used by the decoder (protobuf.ts):
 *   (k) = true       keep the zero value when present on the wire. Upstream
 *                    writes every non-pointer scalar even when zero; JSON
 *                    `omitempty` drops it. Pointer fields (and the few fields
 *                    without omitempty) carry (k), so `replicas: 0` survives.
 *   (inline) = true  the message's fields are merged into the parent object
 *                    (Go embedded structs, e.g. ConfigMapKeySelector.name).
 *
 * Special message types converted to JSON scalars by the decoder: meta.Time
 * (RFC 3339; zero time omitted), resource.Quantity (string), intstr.IntOrString
 * (number or string). `bytes` become base64 strings.
 * Status sub-messages are declared empty: kubectl never fills them, and the
 * decoder skips unknown zero-valued fields.
 */
export const K8S_PROTO = `
syntax = "proto2";
package k8s;

// ---- runtime / meta ----------------------------------------------------------
message TypeMeta { optional string apiVersion = 1; optional string kind = 2; }
message Unknown {
  optional TypeMeta typeMeta = 1;
  optional bytes raw = 2;
  optional string contentEncoding = 3;
  optional string contentType = 4;
}
message Time { optional int64 seconds = 1; optional int32 nanos = 2; }
message Quantity { optional string string = 1; }
message IntOrString { optional int64 type = 1; optional int32 intVal = 2; optional string strVal = 3; }

message ObjectMeta {
  optional string name = 1;
  optional string generateName = 2;
  optional string namespace = 3;
  optional string selfLink = 4;
  optional string uid = 5;
  optional string resourceVersion = 6;
  optional int64 generation = 7;
  optional Time creationTimestamp = 8;
  optional Time deletionTimestamp = 9;
  optional int64 deletionGracePeriodSeconds = 10 [(k) = true];
  map<string, string> labels = 11;
  map<string, string> annotations = 12;
  repeated OwnerReference ownerReferences = 13;
  repeated string finalizers = 14;
}
message OwnerReference {
  optional string kind = 1;
  optional string name = 3;
  optional string uid = 4;
  optional string apiVersion = 5;
  optional bool controller = 6 [(k) = true];
  optional bool blockOwnerDeletion = 7 [(k) = true];
}
message LabelSelector {
  map<string, string> matchLabels = 1;
  repeated LabelSelectorRequirement matchExpressions = 2;
}
message LabelSelectorRequirement {
  optional string key = 1;
  optional string operator = 2;
  repeated string values = 3;
}
message EmptyStatus {}

// ---- authorization.k8s.io/v1 -------------------------------------------------
message SelfSubjectAccessReview {
  optional ObjectMeta metadata = 1;
  optional SelfSubjectAccessReviewSpec spec = 2;
  optional EmptyStatus status = 3;
}
message SelfSubjectAccessReviewSpec {
  optional ResourceAttributes resourceAttributes = 1;
  optional NonResourceAttributes nonResourceAttributes = 2;
}
message SubjectAccessReview {
  optional ObjectMeta metadata = 1;
  optional SubjectAccessReviewSpec spec = 2;
  optional EmptyStatus status = 3;
}
message SubjectAccessReviewSpec {
  optional ResourceAttributes resourceAttributes = 1;
  optional NonResourceAttributes nonResourceAttributes = 2;
  optional string user = 3;
  repeated string groups = 4;
  map<string, ExtraValue> extra = 5;
  optional string uid = 6;
}
message ExtraValue { repeated string items = 1; }
message ResourceAttributes {
  optional string namespace = 1;
  optional string verb = 2;
  optional string group = 3;
  optional string version = 4;
  optional string resource = 5;
  optional string subresource = 6;
  optional string name = 7;
  optional FieldSelectorAttributes fieldSelector = 8;
  optional LabelSelectorAttributes labelSelector = 9;
}
message FieldSelectorAttributes {
  optional string rawSelector = 1;
  repeated FieldSelectorRequirement requirements = 2;
}
message FieldSelectorRequirement {
  optional string key = 1;
  optional string operator = 2;
  repeated string values = 3;
}
message LabelSelectorAttributes {
  optional string rawSelector = 1;
  repeated LabelSelectorRequirement requirements = 2;
}
message NonResourceAttributes { optional string path = 1; optional string verb = 2; }
message SelfSubjectRulesReview {
  optional ObjectMeta metadata = 1;
  optional SelfSubjectRulesReviewSpec spec = 2;
  optional EmptyStatus status = 3;
}
message SelfSubjectRulesReviewSpec { optional string namespace = 1; }

// ---- authentication.k8s.io/v1 ------------------------------------------------
message TokenRequest {
  optional ObjectMeta metadata = 1;
  optional TokenRequestSpec spec = 2;
  optional EmptyStatus status = 3;
}
message TokenRequestSpec {
  repeated string audiences = 1;
  optional BoundObjectReference boundObjectRef = 3;
  optional int64 expirationSeconds = 4 [(k) = true];
}
message BoundObjectReference {
  optional string kind = 1;
  optional string apiVersion = 2;
  optional string name = 3;
  optional string uid = 4;
}
message SelfSubjectReview {
  optional ObjectMeta metadata = 1;
  optional EmptyStatus status = 2;
}
message TokenReview {
  optional ObjectMeta metadata = 1;
  optional TokenReviewSpec spec = 2;
  optional EmptyStatus status = 3;
}
message TokenReviewSpec { optional string token = 1; repeated string audiences = 2; }

// ---- core/v1 -----------------------------------------------------------------
message Namespace {
  optional ObjectMeta metadata = 1;
  optional NamespaceSpec spec = 2;
  optional EmptyStatus status = 3;
}
message NamespaceSpec { repeated string finalizers = 1; }
message ConfigMap {
  optional ObjectMeta metadata = 1;
  map<string, string> data = 2;
  map<string, bytes> binaryData = 3;
  optional bool immutable = 4 [(k) = true];
}
message Secret {
  optional ObjectMeta metadata = 1;
  map<string, bytes> data = 2;
  optional string type = 3;
  map<string, string> stringData = 4;
  optional bool immutable = 5 [(k) = true];
}
message ServiceAccount {
  optional ObjectMeta metadata = 1;
  repeated ObjectReference secrets = 2;
  repeated LocalObjectReference imagePullSecrets = 3;
  optional bool automountServiceAccountToken = 4 [(k) = true];
}
message ObjectReference {
  optional string kind = 1;
  optional string namespace = 2;
  optional string name = 3;
  optional string uid = 4;
  optional string apiVersion = 5;
  optional string resourceVersion = 6;
  optional string fieldPath = 7;
}
message LocalObjectReference { optional string name = 1; }
message TypedLocalObjectReference {
  optional string apiGroup = 1 [(k) = true];
  optional string kind = 2;
  optional string name = 3;
}
message ResourceQuota {
  optional ObjectMeta metadata = 1;
  optional ResourceQuotaSpec spec = 2;
  optional EmptyStatus status = 3;
}
message ResourceQuotaSpec {
  map<string, Quantity> hard = 1;
  repeated string scopes = 2;
  optional ScopeSelector scopeSelector = 3;
}
message ScopeSelector { repeated ScopedResourceSelectorRequirement matchExpressions = 1; }
message ScopedResourceSelectorRequirement {
  optional string scopeName = 1;
  optional string operator = 2;
  repeated string values = 3;
}
message Service {
  optional ObjectMeta metadata = 1;
  optional ServiceSpec spec = 2;
  optional EmptyStatus status = 3;
}
message ServiceSpec {
  repeated ServicePort ports = 1;
  map<string, string> selector = 2;
  optional string clusterIP = 3;
  optional string type = 4;
  repeated string externalIPs = 5;
  optional string sessionAffinity = 7;
  optional string loadBalancerIP = 8;
  repeated string loadBalancerSourceRanges = 9;
  optional string externalName = 10;
  optional string externalTrafficPolicy = 11;
  optional int32 healthCheckNodePort = 12;
  optional bool publishNotReadyAddresses = 13;
  optional string ipFamilyPolicy = 17 [(k) = true];
  repeated string clusterIPs = 18;
  repeated string ipFamilies = 19;
  optional bool allocateLoadBalancerNodePorts = 20 [(k) = true];
  optional string loadBalancerClass = 21 [(k) = true];
  optional string internalTrafficPolicy = 22 [(k) = true];
  optional string trafficDistribution = 23 [(k) = true];
}
message ServicePort {
  optional string name = 1;
  optional string protocol = 2;
  optional int32 port = 3;
  optional IntOrString targetPort = 4;
  optional int32 nodePort = 5;
  optional string appProtocol = 6 [(k) = true];
}
message PodTemplateSpec {
  optional ObjectMeta metadata = 1;
  optional PodSpec spec = 2;
}
message PodSpec {
  repeated Volume volumes = 1;
  repeated Container containers = 2;
  optional string restartPolicy = 3;
  optional int64 terminationGracePeriodSeconds = 4 [(k) = true];
  optional int64 activeDeadlineSeconds = 5 [(k) = true];
  optional string dnsPolicy = 6;
  map<string, string> nodeSelector = 7;
  optional string serviceAccountName = 8;
  optional string serviceAccount = 9;
  optional string nodeName = 10;
  optional bool hostNetwork = 11;
  optional bool hostPID = 12;
  optional bool hostIPC = 13;
  repeated LocalObjectReference imagePullSecrets = 15;
  optional string hostname = 16;
  optional string subdomain = 17;
  optional string schedulerName = 19;
  repeated Container initContainers = 20;
  optional bool automountServiceAccountToken = 21 [(k) = true];
  repeated Toleration tolerations = 22;
  optional string priorityClassName = 24;
  optional int32 priority = 25 [(k) = true];
  optional bool shareProcessNamespace = 27 [(k) = true];
  optional string runtimeClassName = 29 [(k) = true];
  optional bool enableServiceLinks = 30 [(k) = true];
  optional string preemptionPolicy = 31 [(k) = true];
  optional bool setHostnameAsFQDN = 35 [(k) = true];
  optional bool hostUsers = 37 [(k) = true];
}
message Toleration {
  optional string key = 1;
  optional string operator = 2;
  optional string value = 3;
  optional string effect = 4;
  optional int64 tolerationSeconds = 5 [(k) = true];
}
message Container {
  optional string name = 1 [(k) = true];
  optional string image = 2;
  repeated string command = 3;
  repeated string args = 4;
  optional string workingDir = 5;
  repeated ContainerPort ports = 6;
  repeated EnvVar env = 7;
  optional ResourceRequirements resources = 8;
  repeated VolumeMount volumeMounts = 9;
  optional string terminationMessagePath = 13;
  optional string imagePullPolicy = 14;
  optional bool stdin = 16;
  optional bool stdinOnce = 17;
  optional bool tty = 18;
  repeated EnvFromSource envFrom = 19;
  optional string terminationMessagePolicy = 20;
  optional string restartPolicy = 24 [(k) = true];
}
message ContainerPort {
  optional string name = 1;
  optional int32 hostPort = 2;
  optional int32 containerPort = 3 [(k) = true];
  optional string protocol = 4;
  optional string hostIP = 5;
}
message EnvVar {
  optional string name = 1 [(k) = true];
  optional string value = 2;
  optional EnvVarSource valueFrom = 3;
}
message EnvVarSource {
  optional ObjectFieldSelector fieldRef = 1;
  optional ResourceFieldSelector resourceFieldRef = 2;
  optional ConfigMapKeySelector configMapKeyRef = 3;
  optional SecretKeySelector secretKeyRef = 4;
}
message ObjectFieldSelector { optional string apiVersion = 1; optional string fieldPath = 2; }
message ResourceFieldSelector {
  optional string containerName = 1;
  optional string resource = 2;
  optional Quantity divisor = 3;
}
message ConfigMapKeySelector {
  optional LocalObjectReference localObjectReference = 1 [(inline) = true];
  optional string key = 2;
  optional bool optional = 3 [(k) = true];
}
message SecretKeySelector {
  optional LocalObjectReference localObjectReference = 1 [(inline) = true];
  optional string key = 2;
  optional bool optional = 3 [(k) = true];
}
message EnvFromSource {
  optional string prefix = 1;
  optional ConfigMapEnvSource configMapRef = 2;
  optional SecretEnvSource secretRef = 3;
}
message ConfigMapEnvSource {
  optional LocalObjectReference localObjectReference = 1 [(inline) = true];
  optional bool optional = 2 [(k) = true];
}
message SecretEnvSource {
  optional LocalObjectReference localObjectReference = 1 [(inline) = true];
  optional bool optional = 2 [(k) = true];
}
message ResourceRequirements {
  map<string, Quantity> limits = 1;
  map<string, Quantity> requests = 2;
}
message VolumeMount {
  optional string name = 1;
  optional bool readOnly = 2;
  optional string mountPath = 3;
  optional string subPath = 4;
  optional string mountPropagation = 5 [(k) = true];
  optional string subPathExpr = 6;
  optional string recursiveReadOnly = 7 [(k) = true];
}
message Volume {
  optional string name = 1 [(k) = true];
  optional VolumeSource volumeSource = 2 [(inline) = true];
}
message VolumeSource {
  optional HostPathVolumeSource hostPath = 1;
  optional EmptyDirVolumeSource emptyDir = 2;
  optional SecretVolumeSource secret = 6;
  optional PersistentVolumeClaimVolumeSource persistentVolumeClaim = 10;
  optional ConfigMapVolumeSource configMap = 19;
}
message HostPathVolumeSource { optional string path = 1; optional string type = 2 [(k) = true]; }
message EmptyDirVolumeSource { optional string medium = 1; optional Quantity sizeLimit = 2; }
message SecretVolumeSource {
  optional string secretName = 1;
  repeated KeyToPath items = 2;
  optional int32 defaultMode = 3 [(k) = true];
  optional bool optional = 4 [(k) = true];
}
message PersistentVolumeClaimVolumeSource { optional string claimName = 1; optional bool readOnly = 2; }
message ConfigMapVolumeSource {
  optional LocalObjectReference localObjectReference = 1 [(inline) = true];
  repeated KeyToPath items = 2;
  optional int32 defaultMode = 3 [(k) = true];
  optional bool optional = 4 [(k) = true];
}
message KeyToPath { optional string key = 1; optional string path = 2; optional int32 mode = 3 [(k) = true]; }

// ---- apps/v1 -----------------------------------------------------------------
message Deployment {
  optional ObjectMeta metadata = 1;
  optional DeploymentSpec spec = 2;
  optional EmptyStatus status = 3;
}
message DeploymentSpec {
  optional int32 replicas = 1 [(k) = true];
  optional LabelSelector selector = 2;
  optional PodTemplateSpec template = 3;
  optional DeploymentStrategy strategy = 4;
  optional int32 minReadySeconds = 5;
  optional int32 revisionHistoryLimit = 6 [(k) = true];
  optional bool paused = 7;
  optional int32 progressDeadlineSeconds = 9 [(k) = true];
}
message DeploymentStrategy {
  optional string type = 1;
  optional RollingUpdateDeployment rollingUpdate = 2;
}
message RollingUpdateDeployment {
  optional IntOrString maxUnavailable = 1 [(k) = true];
  optional IntOrString maxSurge = 2 [(k) = true];
}

// ---- batch/v1 ----------------------------------------------------------------
message Job {
  optional ObjectMeta metadata = 1;
  optional JobSpec spec = 2;
  optional EmptyStatus status = 3;
}
message JobSpec {
  optional int32 parallelism = 1 [(k) = true];
  optional int32 completions = 2 [(k) = true];
  optional int64 activeDeadlineSeconds = 3 [(k) = true];
  optional LabelSelector selector = 4;
  optional bool manualSelector = 5 [(k) = true];
  optional PodTemplateSpec template = 6;
  optional int32 backoffLimit = 7 [(k) = true];
  optional int32 ttlSecondsAfterFinished = 8 [(k) = true];
  optional string completionMode = 9 [(k) = true];
  optional bool suspend = 10 [(k) = true];
}
message JobTemplateSpec {
  optional ObjectMeta metadata = 1;
  optional JobSpec spec = 2;
}
message CronJob {
  optional ObjectMeta metadata = 1;
  optional CronJobSpec spec = 2;
  optional EmptyStatus status = 3;
}
message CronJobSpec {
  optional string schedule = 1;
  optional int64 startingDeadlineSeconds = 2 [(k) = true];
  optional string concurrencyPolicy = 3;
  optional bool suspend = 4 [(k) = true];
  optional JobTemplateSpec jobTemplate = 5;
  optional int32 successfulJobsHistoryLimit = 6 [(k) = true];
  optional int32 failedJobsHistoryLimit = 7 [(k) = true];
  optional string timeZone = 8 [(k) = true];
}

// ---- rbac.authorization.k8s.io/v1 --------------------------------------------
message PolicyRule {
  repeated string verbs = 1;
  repeated string apiGroups = 2;
  repeated string resources = 3;
  repeated string resourceNames = 4;
  repeated string nonResourceURLs = 5;
}
message Role {
  optional ObjectMeta metadata = 1;
  repeated PolicyRule rules = 2;
}
message ClusterRole {
  optional ObjectMeta metadata = 1;
  repeated PolicyRule rules = 2;
  optional AggregationRule aggregationRule = 3;
}
message AggregationRule { repeated LabelSelector clusterRoleSelectors = 1; }
message Subject {
  optional string kind = 1;
  optional string apiGroup = 2;
  optional string name = 3;
  optional string namespace = 4;
}
message RoleRef {
  optional string apiGroup = 1 [(k) = true];
  optional string kind = 2 [(k) = true];
  optional string name = 3 [(k) = true];
}
message RoleBinding {
  optional ObjectMeta metadata = 1;
  repeated Subject subjects = 2;
  optional RoleRef roleRef = 3;
}
message ClusterRoleBinding {
  optional ObjectMeta metadata = 1;
  repeated Subject subjects = 2;
  optional RoleRef roleRef = 3;
}

// ---- policy/v1 ---------------------------------------------------------------
message PodDisruptionBudget {
  optional ObjectMeta metadata = 1;
  optional PodDisruptionBudgetSpec spec = 2;
  optional EmptyStatus status = 3;
}
message PodDisruptionBudgetSpec {
  optional IntOrString minAvailable = 1 [(k) = true];
  optional LabelSelector selector = 2;
  optional IntOrString maxUnavailable = 3 [(k) = true];
  optional string unhealthyPodEvictionPolicy = 4 [(k) = true];
}

// ---- networking.k8s.io/v1 ----------------------------------------------------
message Ingress {
  optional ObjectMeta metadata = 1;
  optional IngressSpec spec = 2;
  optional EmptyStatus status = 3;
}
message IngressSpec {
  optional IngressBackend defaultBackend = 1;
  repeated IngressTLS tls = 2;
  repeated IngressRule rules = 3;
  optional string ingressClassName = 4 [(k) = true];
}
message IngressTLS { repeated string hosts = 1; optional string secretName = 2; }
message IngressRule {
  optional string host = 1;
  optional IngressRuleValue ingressRuleValue = 2 [(inline) = true];
}
message IngressRuleValue { optional HTTPIngressRuleValue http = 1; }
message HTTPIngressRuleValue { repeated HTTPIngressPath paths = 1; }
message HTTPIngressPath {
  optional string path = 1;
  optional IngressBackend backend = 2;
  optional string pathType = 3 [(k) = true];
}
message IngressBackend {
  optional TypedLocalObjectReference resource = 3;
  optional IngressServiceBackend service = 4;
}
message IngressServiceBackend { optional string name = 1; optional ServiceBackendPort port = 2; }
message ServiceBackendPort { optional string name = 1; optional int32 number = 2; }

// ---- scheduling.k8s.io/v1 ----------------------------------------------------
message PriorityClass {
  optional ObjectMeta metadata = 1;
  optional int32 value = 2 [(k) = true];
  optional bool globalDefault = 3;
  optional string description = 4;
  optional string preemptionPolicy = 5 [(k) = true];
}
`;

/** apiVersion + kind → message name in K8S_PROTO. */
export const KIND_MESSAGES: Readonly<Record<string, string>> = {
  'authorization.k8s.io/v1/SelfSubjectAccessReview': 'SelfSubjectAccessReview',
  'authorization.k8s.io/v1/SelfSubjectRulesReview': 'SelfSubjectRulesReview',
  'authorization.k8s.io/v1/SubjectAccessReview': 'SubjectAccessReview',
  'authentication.k8s.io/v1/TokenRequest': 'TokenRequest',
  'authentication.k8s.io/v1/SelfSubjectReview': 'SelfSubjectReview',
  'authentication.k8s.io/v1/TokenReview': 'TokenReview',
  'v1/Namespace': 'Namespace',
  'v1/ConfigMap': 'ConfigMap',
  'v1/Secret': 'Secret',
  'v1/ServiceAccount': 'ServiceAccount',
  'v1/Service': 'Service',
  'v1/ResourceQuota': 'ResourceQuota',
  'apps/v1/Deployment': 'Deployment',
  'batch/v1/Job': 'Job',
  'batch/v1/CronJob': 'CronJob',
  'rbac.authorization.k8s.io/v1/Role': 'Role',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'ClusterRole',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'RoleBinding',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'ClusterRoleBinding',
  'policy/v1/PodDisruptionBudget': 'PodDisruptionBudget',
  'networking.k8s.io/v1/Ingress': 'Ingress',
  'scheduling.k8s.io/v1/PriorityClass': 'PriorityClass',
};
