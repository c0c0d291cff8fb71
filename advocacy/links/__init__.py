"""Signed referral links, the public click path and the invitation page."""
