# The test cluster's container registries (sourced by lib.sh): Debian's docker-registry
# (distribution 2.8) on the head, over TLS with a CA of the cluster's own, two processes:
#
#   open     sdtc-registry:5443   anonymous pull and push
#   private  sdtc-registry:5444   htpasswd (bcrypt) on everything, user alice
#
# Registry 2.8 applies htpasswd to the whole registry, hence one process per kind, each with
# its own port, config, storage and logs under $STATE/registry/KIND. The CA, the password and
# the storage survive `down` (a rerun pushes nothing new); the access logs start empty at `up`.
# Nodes resolve the name through the cluster's DNS and trust the CA in their own /etc/docker
# and /etc/containers; the head (this machine) through lines in its /etc/hosts and /etc.
# Tests read everything from $STATE/registry/registry.json (test/e2e/cluster.ts).

REGISTRY_NAME=sdtc-registry
REGISTRY_KINDS=(open private)
REGISTRY_DIR=$STATE/registry
REGISTRY_USER=alice
REGISTRY_TAG=1

registry_port() {
  case $1 in
    open) echo 5443 ;;
    private) echo 5444 ;;
    *) die "registry: unknown registry '$1' (open or private)" ;;
  esac
}
registry_host() { echo "$REGISTRY_NAME:$(registry_port "$1")"; }
# Usage: registry_ref KIND IMAGE: where IMAGE (repo:tag) is in registry KIND, e.g.
# sdtc-registry:5444/private/srun-docker-test:1.
registry_ref() {
  local prefix=
  [[ $1 != private ]] || prefix=private/
  echo "$(registry_host "$1")/$prefix${2%:*}:$REGISTRY_TAG"
}
registry_password() { cat "$REGISTRY_DIR/password"; }

# The CA (kept) and a server certificate for the registry's name and address (new each `up`);
# Go's TLS wants the name in subjectAltName.
make_registry_tls() {
  local tls=$REGISTRY_DIR/tls
  mkdir -p "$tls"
  chmod 0700 "$tls"
  if [[ ! -s $tls/ca.crt || ! -s $tls/ca.key ]]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=sdtc test registry CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null || die "registry: openssl could not make the CA"
  fi
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$REGISTRY_NAME" \
    -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null || die "registry: openssl could not make a key"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 825 -out "$tls/server.crt" -extfile <(printf '%s\n' \
      "subjectAltName=DNS:$REGISTRY_NAME,IP:$HEAD_ADDR" "extendedKeyUsage=serverAuth" \
      "basicConstraints=CA:FALSE" "keyUsage=digitalSignature,keyEncipherment") 2>/dev/null ||
    die "registry: openssl could not sign the server certificate"
  # The CA's certificate is public: users' tools (curl, skopeo) may point at it.
  chmod 0755 "$tls"
  chmod 0644 "$tls/ca.crt" "$tls/server.crt"
  chmod 0600 "$tls/ca.key" "$tls/server.key"
}

# Usage: install_registry_ca ETC_DIR: the CA for both registries, where Docker
# (ETC_DIR/docker/certs.d/HOST:PORT) and Podman (ETC_DIR/containers/certs.d/...) look.
install_registry_ca() {
  local etc=$1 kind tool dir
  for tool in docker containers; do
    [[ $tool == docker || -d $etc/containers ]] || continue
    for kind in "${REGISTRY_KINDS[@]}"; do
      dir=$etc/$tool/certs.d/$(registry_host "$kind")
      mkdir -p "$dir"
      cp "$REGISTRY_DIR/tls/ca.crt" "$dir/ca.crt"
    done
  done
}

# The head pushes too (skopeo, podman): the name in /etc/hosts, the CA in /etc.
install_registry_on_head() {
  remove_registry_from_head
  echo "$HEAD_ADDR $REGISTRY_NAME $MARKER" >>/etc/hosts
  install_registry_ca /etc
}

remove_registry_from_head() {
  local kind tool hosts
  # Rewritten in place: /etc/hosts may be a bind mount that cannot be replaced.
  if grep -qF "$MARKER" /etc/hosts 2>/dev/null; then
    hosts=$(grep -vF "$MARKER" /etc/hosts)
    printf '%s\n' "$hosts" >/etc/hosts
  fi
  for tool in docker containers; do
    for kind in "${REGISTRY_KINDS[@]}"; do
      rm -rf "/etc/$tool/certs.d/$(registry_host "$kind")"
    done
    rmdir "/etc/$tool/certs.d" 2>/dev/null || true
  done
}

write_registry_config() {
  local kind=$1 dir=$REGISTRY_DIR/$1
  mkdir -p "$dir/storage"
  {
    cat <<EOF
$MARKER
version: 0.1
log:
  level: info
  formatter: text
  fields:
    service: $REGISTRY_NAME-$kind
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $HEAD_ADDR:$(registry_port "$kind")
  secret: $(openssl rand -hex 16)
  tls:
    certificate: $REGISTRY_DIR/tls/server.crt
    key: $REGISTRY_DIR/tls/server.key
  headers:
    X-Content-Type-Options: [nosniff]
EOF
    if [[ $kind == private ]]; then
      cat <<EOF
auth:
  htpasswd:
    realm: $REGISTRY_NAME-private
    path: $dir/htpasswd
EOF
    fi
  } >"$dir/config.yml"
  chmod 0600 "$dir/config.yml"
}

# The password is made once and kept, like the munge key; htpasswd -B is bcrypt.
write_registry_users() {
  [[ -s $REGISTRY_DIR/password ]] || openssl rand -hex 12 >"$REGISTRY_DIR/password"
  chmod 0600 "$REGISTRY_DIR/password"
  htpasswd -B -i -c "$REGISTRY_DIR/private/htpasswd" "$REGISTRY_USER" <"$REGISTRY_DIR/password" 2>/dev/null ||
    die "registry: htpasswd failed (apache2-utils; run scripts/setup-host.sh)"
  chmod 0600 "$REGISTRY_DIR/private/htpasswd"
}

# What tests read (test/e2e/cluster.ts); root's only, as it holds the password.
write_registry_json() {
  local open private
  open=$(registry_host open) private=$(registry_host private)
  jq -n --arg name "$REGISTRY_NAME" --arg address "$HEAD_ADDR" --arg ca "$REGISTRY_DIR/tls/ca.crt" \
    --arg open "$open" --arg openLog "$REGISTRY_DIR/open/access.log" \
    --arg private "$private" --arg privateLog "$REGISTRY_DIR/private/access.log" \
    --arg user "$REGISTRY_USER" --arg password "$(registry_password)" \
    --arg image "$(registry_ref open "$IMAGE")" --arg nossh "$(registry_ref open "$(nossh_name "$IMAGE")")" \
    --arg privateImage "$(registry_ref private "$IMAGE")" \
    --arg privateNossh "$(registry_ref private "$(nossh_name "$IMAGE")")" \
    '{name: $name, address: $address, ca: $ca,
      open: {host: $open, accessLog: $openLog, images: {base: $image, nossh: $nossh}},
      private: {host: $private, accessLog: $privateLog, user: $user, password: $password,
                images: {base: $privateImage, nossh: $privateNossh}}}' >"$REGISTRY_DIR/registry.json"
  chmod 0600 "$REGISTRY_DIR/registry.json"
}

# Before the nodes start: TLS, configs, users, the head's trust; logs start empty.
setup_registries() {
  local kind
  command -v docker-registry >/dev/null || die "registry: docker-registry is missing (run scripts/setup-host.sh)"
  mkdir -p "$REGISTRY_DIR"
  make_registry_tls
  for kind in "${REGISTRY_KINDS[@]}"; do
    write_registry_config "$kind"
    : >"$REGISTRY_DIR/$kind/access.log"
  done
  write_registry_users
  write_registry_json
  install_registry_on_head
}

# Access log (Apache combined format, one line a request) on stdout, the registry's own log
# on stderr.
start_registry() {
  local kind=$1 dir=$REGISTRY_DIR/$1 pidfile=$STATE/run/registry-$1.pid i code
  pid_alive "$(cat "$pidfile" 2>/dev/null || true)" && return 0
  (close_inherited_fds && exec setsid docker-registry serve "$dir/config.yml") \
    </dev/null >>"$dir/access.log" 2>>"$dir/registry.log" &
  echo $! >"$pidfile"
  for i in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$REGISTRY_DIR/tls/ca.crt" \
      "https://$(registry_host "$kind")/v2/" 2>/dev/null || true)
    # The private one answers 401 to anyone not logged in.
    [[ $code == 200 || ($kind == private && $code == 401) ]] && return 0
    pid_alive "$(cat "$pidfile")" || break
    sleep 0.1
  done
  die "registry $kind did not answer over TLS (see $dir/registry.log)"
}

stop_registry() {
  stop_pidfile docker-registry "$STATE/run/registry-$1.pid"
}

# The test images, pushed by the head with skopeo from node1's daemon (so no node's daemon
# records having pushed them, and none has them under the registry's name): IMAGE and its
# -nossh to both registries (the private one under private/). Skipped where the registry
# already holds the very image (its manifest names node1's image id as its config).
push_registry_images() {
  local holder image kind ref id have creds=()
  holder=$(cat "$STATE/run/holder-node1.pid")
  for image in "$IMAGE" "$(nossh_name "$IMAGE")"; do
    id=$(node_docker 1 image inspect -f '{{.Id}}' "$image")
    for kind in "${REGISTRY_KINDS[@]}"; do
      ref=$(registry_ref "$kind" "$image")
      creds=()
      [[ $kind != private ]] || creds=(--dest-creds "$REGISTRY_USER:$(registry_password)")
      have=$(registry_config_digest "$kind" "$ref")
      [[ $have == "$id" ]] && continue
      skopeo copy -q --src-daemon-host "unix:///proc/$holder/root/run/docker.sock" "${creds[@]}" \
        "docker-daemon:$image" "docker://$ref" >/dev/null || die "registry: pushing $image to $ref failed"
    done
  done
}

# The config digest of REF's manifest in registry KIND (empty when there is none).
registry_config_digest() {
  local kind=$1 ref=$2 path auth=()
  path=${ref#*/}
  [[ $kind != private ]] || auth=(-u "$REGISTRY_USER:$(registry_password)")
  curl -sf --cacert "$REGISTRY_DIR/tls/ca.crt" "${auth[@]}" \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "https://$(registry_host "$kind")/v2/${path%:*}/manifests/${path##*:}" 2>/dev/null |
    jq -r '.config.digest // empty' 2>/dev/null || true
}
