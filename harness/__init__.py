"""Real processes for tests/ and bench/: one copy of what both need.

- processes: free ports, process groups, their CPU time and memory from ``/proc``;
- app_server: ``AppServer``, the app as scripts/run serves it, in a process group
  of its own on a free port, ready once every worker answers;
- servers: the other servers a run needs: ``EdgeServer`` (Varnish),
  ``RedisServer``, ``TcpProxy`` (a partition to cut and heal),
  ``fresh_postgres_database``;
- dropper: ``Dropper``, PostgreSQL databases dropped on a thread of their own;
- metrics: Prometheus text, parsed by prometheus_client (``metrics``, ``worker_of``);
- client: what a person does over HTTP: sign up, create a ticket.

A package of its own, not under tests/, so that bench/ never imports the tests;
both import it from the repository's root.
"""
