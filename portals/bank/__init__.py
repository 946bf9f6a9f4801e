"""The demo bank: open an account online after an e-ID login at level 2."""
