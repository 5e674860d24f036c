"""The workforce IdP: the customer's enterprise IdP (Okta-like) and the OIN catalog and wizard.

Does: host orgs, sign their users in, hold the OIN, run Express Configuration as its client.
Does not: import anything of the tenant; it meets the tenant only over HTTP.

Its modules arrive with the workforce issue; the package exists now so that the architecture
contract that keeps the two systems apart is enforced from the first commit.
"""
