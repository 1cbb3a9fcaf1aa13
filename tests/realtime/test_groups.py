import pytest

from helpdesk.realtime.groups import agent_group, group_name, status_group, ticket_group


def test_group_names_are_tenant_prefixed_and_numeric():
    assert ticket_group(42, 9001) == "t42.ticket.9001"
    assert agent_group(42, 15) == "t42.agent.15"
    assert status_group(3, 7) == "t3.status.7"


@pytest.mark.parametrize("bad", ["9001", None, 1.5, True])
def test_group_names_refuse_non_numeric_ids(bad):
    with pytest.raises((TypeError, ValueError)):
        group_name(bad, "ticket", 1)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        group_name(1, "everything", 1)
