"""Counting the requests a replica is serving from its /proc/net/tcp{,6} (stack.engine.drain)."""

from __future__ import annotations

from stack.engine.drain import DrainReport, serving_connections

HEADER4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
HEADER6 = "  sl  local_address                         remote_address                        st tx_queue\n"
# Docker's DNS listener on 127.0.0.11, an outgoing connection of the replica (to a database on
# 5432): neither is a request the replica serves.
TCP = (
    HEADER4
    + "   0: 0B00007F:99A5 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 287069 1\n"
    + "   1: 03001EAC:A1B2 09001EAC:1538 01 00000000:00000000 00:00000000 00000000     0        0 287070 1\n"
)
# httpd listening on [::]:80; two requests being served (ESTABLISHED), one half-closed by the
# client with the answer still to write (CLOSE_WAIT), two finished ones (TIME_WAIT).
TCP6 = (
    HEADER6
    + "   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 0 0 0 0 0 1\n"
    + "   1: 0000000000000000FFFF000003001EAC:0050 0000000000000000FFFF000005001EAC:B3CC 01 0 0 0 0 0 1\n"
    + "   2: 0000000000000000FFFF000003001EAC:0050 0000000000000000FFFF000005001EAC:B3D8 01 0 0 0 0 0 1\n"
    + "   3: 0000000000000000FFFF000003001EAC:0050 0000000000000000FFFF000005001EAC:B3E0 08 0 0 0 0 0 1\n"
    + "   4: 0000000000000000FFFF000003001EAC:0050 0000000000000000FFFF000005001EAC:C26A 06 0 0 0 0 0 1\n"
    + "   5: 0000000000000000FFFF000003001EAC:0050 0000000000000000FFFF000005001EAC:C062 06 0 0 0 0 0 1\n"
)


def test_only_connections_to_a_listening_port_that_are_still_open_count() -> None:
    assert serving_connections(TCP + TCP6) == 3


def test_an_idle_replica_serves_nothing() -> None:
    assert serving_connections(TCP) == 0
    assert serving_connections("") == 0


def test_the_report_says_what_the_drain_saw() -> None:
    report = DrainReport(container="web-3", left_dns=0.4, drained=2.5, in_flight_at_start=2, peak=3, stopped=1.2)
    assert report.describe() == (
        "web-3: out of DNS in 0.40s; 2 in-flight request(s) when it left (peak 3), none left after 2.50s;"
        " stopped and removed in 1.2s"
    )
    blind = DrainReport(container="web-2", blind=True, address_changed=["p_default"])
    assert "no cat" in blind.describe() and "address changed on p_default" in blind.describe()
