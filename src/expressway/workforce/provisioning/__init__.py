"""The workforce IdP's provisioning engine: SCIM pushes to app instances and Universal Logout
deliveries, as durable jobs written in the same transaction as the change that calls for them
and run by a worker that retries what the app could not take yet."""
