"""Advocate ranking as a service: load a workspace, rank it, keep versioned snapshots."""
