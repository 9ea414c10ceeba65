"""Everything about talking to the two systems: one package per system, plus shared HTTP plumbing.

`connectors.poweroffice` and `connectors.chargebee` each own their client, auth, paging,
poller and simulator; `connectors.transport` owns rate limiting and retries that both use;
`connectors.simkit` owns what both simulators share (admin surface, stats, fault injection).
"""
