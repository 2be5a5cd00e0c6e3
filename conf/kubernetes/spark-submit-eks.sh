#!/usr/bin/env bash
# Example: a Spark application on Amazon EKS with efa-shuffle, in cluster deploy mode.
# IMAGE: built from conf/kubernetes/Dockerfile. SUBNET: the node group's subnet (the VPC CNI gives
# each pod a /32 address, so the executors cannot learn the subnet from their interface).
# Executor memory overhead: Spark's default (10%, at least 384m) plus efa-shuffle's registered
# memory (mapOutputBytes 1g + stagingBytes 128m + receiveBytes 256m by default).
: "${K8S_API:?the cluster's API server, e.g. https://ABC.gr7.us-east-1.eks.amazonaws.com}"
: "${IMAGE:?an image built from conf/kubernetes/Dockerfile}"
: "${SUBNET:?the executors' node group subnet, e.g. 10.0.0.0/20}"
HERE=$(cd "$(dirname "$0")" && pwd)
exec spark-submit \
  --master "k8s://$K8S_API" --deploy-mode cluster \
  --conf spark.kubernetes.container.image="$IMAGE" \
  --conf spark.kubernetes.executor.podTemplateFile="$HERE/executor-pod-template.yaml" \
  --conf spark.executor.instances=4 --conf spark.executor.cores=8 --conf spark.executor.memory=24g \
  --conf spark.executor.memoryOverhead=4g \
  --conf spark.shuffle.manager=org.efashuffle.spark.EfaShuffleManager \
  --conf spark.shuffle.efa.provider=efa \
  --conf spark.shuffle.efa.subnet="$SUBNET" \
  "$@"
