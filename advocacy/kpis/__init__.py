"""Campaign KPIs: shares reported by channels, per-period aggregates, and their maths."""
