"""Reviews and reports drafted from recorded state."""
