from bench.kb_calibrate import Scored, outcome


def test_a_topic_with_its_own_threshold_keeps_it_whatever_the_global_one():
    rows = [
        Scored("how do I pay", "pay", "pay", 0.45, None),
        Scored("sign-up fails", None, "acct", 0.45, 0.47),  # accounts: its own 0.47
    ]
    assert rows[0].answered(0.40) and not rows[1].answered(0.40)
    assert not rows[0].answered(0.50) and not rows[1].answered(0.50)
    at_040 = outcome(rows, 0.40)
    assert at_040["handled_right"] == 1.0  # answered right, and abstained where none answers
    assert at_040["unanswerable_abstained"] == 1.0
    assert outcome(rows, 0.50)["answerable_answered_right"] == 0.0
