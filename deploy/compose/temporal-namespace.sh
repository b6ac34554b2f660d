#!/bin/sh
# docker-compose.yml's `temporal-namespace`, in temporalio/admin-tools: the namespace Harvester
# runs in and its custom search attributes (src/contracts/common.ts), which make runs
# searchable by pipeline, source and stage in the api and the Web UI. Safe on every start.
# The temporal CLI reads TEMPORAL_ADDRESS from the environment.
set -eu

ns="$TEMPORAL_NAMESPACE"
temporal operator cluster health
if temporal operator namespace describe --namespace "$ns" >/dev/null 2>&1; then
  echo "namespace $ns exists"
else
  temporal operator namespace create --namespace "$ns" --retention "$NAMESPACE_RETENTION"
  echo "created namespace $ns (retention $NAMESPACE_RETENTION)"
fi

# A new namespace reaches every part of the server within seconds (its namespace cache refreshes).
tries=0
until existing="$(temporal operator search-attribute list --namespace "$ns" 2>&1)"; do
  tries=$((tries + 1))
  if [ "$tries" -ge 30 ]; then
    echo "namespace $ns did not become usable within 30 s: $existing" >&2
    exit 1
  fi
  sleep 1
done
for name in HarvesterPipeline HarvesterSource HarvesterStage; do
  if printf '%s\n' "$existing" | grep -qw "$name"; then
    echo "search attribute $name exists"
  else
    temporal operator search-attribute create --namespace "$ns" --name "$name" --type Keyword
    echo "created search attribute $name"
  fi
done
