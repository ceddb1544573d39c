// Package dist holds what installs ticketgate on a host: the systemd unit
// in dist/systemd. It has no code; its tests check the unit with
// systemd-analyze (verify, and the security exposure score the README
// quotes) and that the man page docs/ticketgate.8 describes every command.
package dist
