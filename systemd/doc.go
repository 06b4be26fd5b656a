// Package systemd holds no code: it is the home of facegate.service, the
// example configuration installed as /etc/facegate/config.yaml and the
// development config of `make run`. Its tests check that both configs load
// and that the example documents every key.
package systemd
