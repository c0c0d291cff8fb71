"""Listening insights: mention spikes against a robust baseline, supporters and detractors."""
