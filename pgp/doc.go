// Package pgp is ticketgate's OpenPGP (RFC 9580/4880) and PGP/MIME (RFC
// 3156) support, issue 19: the project's own key (generated, imported,
// kept in the store or a file, protected at rest by a passphrase), keys
// learned from mail (Autocrypt 1.1 headers, attached public keys) with
// their verified / unverified standing, the inbound step that decrypts
// multipart/encrypted mail and checks multipart/signed mail before the
// parser sees it, the outbound step that turns a composed mail into
// PGP/MIME at send time, and the Web Key Directory.
//
// It never writes tickets, messages or events (package ticket does); it
// writes only the key records of the store (store.PGPTx).
package pgp
