"""target-dynamics-fo."""

from gd_vault.redact import install_log_redaction

# Every log line of every entry point of this package (the plugin, its CLI, and the connector
# that imports it) goes through the one redaction rule shared by the tap, target and connector.
install_log_redaction()
