"""Reports: rich text for people, versioned JSON for scripts, HTML for sharing."""
