"""Workspaces (one brand's program each) and their API keys."""
