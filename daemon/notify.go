package daemon

import (
	sd "github.com/coreos/go-systemd/v22/daemon"
	"go.uber.org/zap"
)

// sd_notify states (systemd.service(5) Type=notify, sd_notify(3)).
const (
	stateReady    = sd.SdNotifyReady
	stateStopping = sd.SdNotifyStopping
	stateWatchdog = sd.SdNotifyWatchdog
)

// reloadingState is RELOADING=1 with the MONOTONIC_USEC that systemd ≥ 253
// wants for Type=notify-reload (older ones ignore it).
func reloadingState() string {
	return sd.SdNotifyReloading + "\n" + sd.SdNotifyMonotonicUsec()
}

// notify tells systemd about a state change. Without NOTIFY_SOCKET it does
// nothing; a failure is logged, never fatal: the daemon works without systemd.
func (d *Daemon) notify(state string) {
	if _, err := sd.SdNotify(false, state); err != nil {
		d.log.Warn("sd_notify", zap.Error(err))
	}
}
