"""The request workflow (诉求办理): tickets from alerts, residents and reminders."""
