"""What keeps agents safe: the policy, confirmation of gated tools and their previews, the audit log."""
