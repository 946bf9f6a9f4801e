"""The demo clinic: patients log in with the e-ID to check in and see their visits."""
