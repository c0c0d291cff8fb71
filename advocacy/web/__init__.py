"""Public pages for people without an account: the click path and the invitation page."""
