from bench.nlu_cv import report_tables


def test_the_table_lists_the_worst_intents_first_with_their_confusions():
    report = {
        "greet": {"precision": 1.0, "recall": 0.98, "f1-score": 0.99, "support": 50},
        "track_order": {
            "precision": 0.85,
            "recall": 0.9,
            "f1-score": 0.874,
            "support": 40,
            "confused_with": {"cancel_order": 3, "ask_question": 1},
        },
        "accuracy": 0.93,
        "macro avg": {"precision": 0.92, "recall": 0.94, "f1-score": 0.932, "support": 90},
        "weighted avg": {"precision": 0.93, "recall": 0.94, "f1-score": 0.935, "support": 90},
    }
    text = report_tables(report, folds=5)
    assert "5-fold cross-validation of `config.yml` over 90 examples of 2 intents." in text
    assert "| 0.930 | 0.932 | 0.935 | 1 |" in text
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows[0].startswith("| `track_order` | 0.850 | 0.900 | 0.874 | 40 |")
    assert "cancel_order (3), ask_question (1)" in rows[0]
    assert rows[1].endswith("| 50 | – |")
    variant = report_tables(report, folds=5, config="config.yml with the stock encoder")
    assert "cross-validation of `config.yml` with the stock encoder over 90 examples" in variant
