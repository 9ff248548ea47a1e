#!/bin/sh
# shellcheck disable=SC2016 # the systemd units written here keep their $VARIABLES for systemd to expand
# build: write both layouts under /opt/kubeguard/layouts with the real kubeadm.
# <layout>: install that layout as the node's live files (run once when a test node starts).
set -eu
kubeadm_layout() {  # $1 name, $2 kubeadm config
  d=/opt/kubeguard/layouts/$1; mkdir -p "$d"
  rm -rf /etc/kubernetes /var/lib/kubelet; mkdir -p /etc/kubernetes /var/lib/kubelet
  kubeadm init phase certs all --config "$2" >/dev/null
  kubeadm init phase kubeconfig all --config "$2" >/dev/null
  kubeadm init phase control-plane all --config "$2" >/dev/null
  if grep -q 'local:' "$2"; then kubeadm init phase etcd local --config "$2" >/dev/null; fi
  kubeadm init phase kubelet-start --config "$2" >/dev/null 2>&1 || true
  tar -C / -cf "$d/files.tar" etc/kubernetes var/lib/kubelet
}
case "${1:?usage: prepare-node build|kubeadm|kubespray}" in
  build)
    kubeadm_layout kubeadm /opt/kubeguard/kubeadm-config.yaml
    kubeadm_layout kubespray /opt/kubeguard/kubespray-kubeadm-config.yaml
    rm -rf /etc/kubernetes /var/lib/kubelet
    # the kubelet unit kubeadm's packages install (kubeadm layout) - installed by the layout step
    ;;
  kubeadm)
    tar -C / -xf /opt/kubeguard/layouts/kubeadm/files.tar
    mkdir -p /usr/lib/systemd/system/kubelet.service.d /var/lib/etcd
    printf '%s\n' '[Unit]' 'Description=kubelet: The Kubernetes Node Agent' '[Service]' \
      'ExecStart=/usr/bin/kubelet' 'Restart=always' 'StartLimitInterval=0' 'RestartSec=10' \
      '[Install]' 'WantedBy=multi-user.target' > /usr/lib/systemd/system/kubelet.service
    printf '%s\n' '[Service]' \
      'Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"' \
      'Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"' \
      'EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env' 'EnvironmentFile=-/etc/default/kubelet' \
      'ExecStart=' 'ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS' \
      > /usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf
    ;;
  kubespray)
    tar -C / -xf /opt/kubeguard/layouts/kubespray/files.tar
    mv /var/lib/kubelet/config.yaml /etc/kubernetes/kubelet-config.yaml
    cp /opt/kubeguard/kubelet.env /etc/kubernetes/kubelet.env
    cp /opt/kubeguard/etcd.env /etc/etcd.env
    ln -sfn /etc/kubernetes/ssl /etc/kubernetes/pki
    mkdir -p /var/lib/etcd /etc/ssl/etcd/ssl
    printf '%s\n' '[Unit]' 'Description=Kubernetes Kubelet Server' '[Service]' \
      'EnvironmentFile=-/etc/kubernetes/kubelet.env' \
      'ExecStart=/usr/local/bin/kubelet $KUBE_LOGTOSTDERR $KUBE_LOG_LEVEL $KUBELET_API_SERVER $KUBELET_ADDRESS $KUBELET_PORT $KUBELET_HOSTNAME $KUBELET_ARGS $DOCKER_SOCKET $KUBELET_NETWORK_PLUGIN $KUBELET_VOLUME_PLUGIN $KUBELET_CLOUDPROVIDER' \
      'Restart=always' 'RestartSec=10s' '[Install]' 'WantedBy=multi-user.target' > /etc/systemd/system/kubelet.service
    printf '%s\n' '[Unit]' 'Description=etcd' '[Service]' 'Type=notify' 'User=root' 'EnvironmentFile=/etc/etcd.env' \
      'ExecStart=/usr/local/bin/etcd' 'Restart=always' '[Install]' 'WantedBy=multi-user.target' > /etc/systemd/system/etcd.service
    ;;
esac
