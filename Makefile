# Larkspur customer-service agent. `make help` lists the targets.
# Two venvs, because Rasa 3.6 (Python 3.10, TensorFlow) and the action server (Python 3.11,
# torch) cannot share one.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON310 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.10.*/bin/python3.10) $(shell command -v python3.10))
PYTHON311 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.11.*/bin/python3.11) $(shell command -v python3.11))
RASA_VENV := .venv/rasa
ACT_VENV := .venv/actions
RASA := $(RASA_VENV)/bin/rasa
PY := $(ACT_VENV)/bin/python
RASA_PY := $(RASA_VENV)/bin/python
export PYTHONPATH := $(CURDIR)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export RASA_TELEMETRY_ENABLED := false
# Rasa expands ${...} in endpoints.yml and credentials.yml. `make run` exports the values from
# config/settings.py; Rasa's offline commands (train, validate, test) only need them to be set.
RASA_CLI_ENV := ACTION_SERVER_PORT=5055 TRACKER_DB=$(CURDIR)/var/rasa-cli-tracker.db TRACKER_CACHE_SIZE=0 \
	LOCK_STORE_URL=sqlite:///$(CURDIR)/var/rasa-cli-locks.db MAX_MESSAGE_CHARS=2000
RASA_CLI := $(RASA_CLI_ENV) $(RASA)
# Rasa's command line with the hot-path fixes the server runs with (serve/rasa_main.py).
RASA_CLI_FIXED := $(RASA_CLI_ENV) $(RASA_VENV)/bin/python -m serve.rasa_main

# The sentence encoder of the NLU and of knowledge-base questions: the packaged MiniLM in ONNX
# (encoder/export.py). Defined first: make expands a rule's prerequisites as it reads them.
ENCODER := models/encoder/manifest.json
NLU_CODE := bot/nlu/classifier.py bot/nlu/component.py bot/nlu/intent_model.py encoder/sentence.py
NLU_YAML := $(sort $(wildcard data/nlu/*.yml))
RASA_DATA := config.yml domain.yml $(NLU_YAML) $(sort $(wildcard data/rules/*.yml data/stories/*.yml))
# The intent classifier's encoder: the MiniLM fine-tuned on data/nlu (encoder/intents.py), rebuilt
# when the examples change (a few minutes on the CPU; skipped when its record says the examples,
# base model and options are the same). The knowledge base keeps the stock encoder.
INTENT_ENCODER := models/intent-encoder/manifest.json

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

$(RASA_VENV)/.installed: requirements/rasa.txt requirements/rasa-constraints.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 is needed for Rasa (pyenv install 3.10.13)"; exit 1; }
	$(PYTHON310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install -q --upgrade pip
	$(RASA_VENV)/bin/pip install -q -r requirements/rasa.txt -c requirements/rasa-constraints.txt
	touch $@

$(ACT_VENV)/.installed: requirements/actions.txt requirements/dev.txt requirements/actions-constraints.txt
	@test -n "$(PYTHON311)" || { echo "Python 3.11 is needed for the action server"; exit 1; }
	$(PYTHON311) -m venv $(ACT_VENV)
	$(ACT_VENV)/bin/pip install -q --upgrade pip
	# torch alone first: `torch==2.13.0` takes the local CPU build; anything else pulls CUDA.
	$(ACT_VENV)/bin/pip install -q torch==2.13.0
	$(ACT_VENV)/bin/pip install -q -r requirements/actions.txt -r requirements/dev.txt \
		-c requirements/actions-constraints.txt
	touch $@

# Our own packages, installed editable into the action-server venv: gives the `kb` command.
KB := $(ACT_VENV)/bin/kb
$(KB): $(ACT_VENV)/.installed pyproject.toml
	$(ACT_VENV)/bin/pip install -q --no-deps -e .
	touch $@

.PHONY: venvs
venvs: $(RASA_VENV)/.installed $(ACT_VENV)/.installed $(KB) ## Create both virtual environments

# Purchase propensity (docs/crm.md). Without a model, `records` trains one on a small
# simulation (a few seconds); `make bench-propensity` replaces it with the 100,000-customer one.
PROPENSITY_MODEL := models/propensity/manifest.json
$(PROPENSITY_MODEL): $(ACT_VENV)/.installed crm/tools/simulation.py crm/insights/propensity.py
	$(PY) -m crm simulate --customers 5000 --out var/simulation-small.db --replace
	$(PY) -m crm propensity-train --data var/simulation-small.db --model-out models/propensity

# Ticket routing (docs/crm.md): the classifier handoffs and complaints are routed by, rebuilt when
# its data or code change (the rule is below the encoder's, which it needs).
ROUTING_MODEL := models/routing/manifest.json

.PHONY: records
records: $(ACT_VENV)/.installed $(PROPENSITY_MODEL) $(ROUTING_MODEL) ## Apply migrations, load the demo data (idempotent), score it
	$(PY) -m crm migrate
	$(PY) -m crm seed
	$(PY) -m crm score

.PHONY: index
index: $(KB) ## Build the knowledge index if its sources changed (`kb build`)
	$(KB) build

$(ENCODER): $(ACT_VENV)/.installed encoder/export.py encoder/sentence.py
	$(PY) -m encoder.export --out models/encoder

.PHONY: encoder
encoder: $(ENCODER) ## Export the local MiniLM to ONNX for the knowledge base and the CRM (models/encoder)

$(INTENT_ENCODER): $(ACT_VENV)/.installed encoder/intents.py encoder/export.py encoder/sentence.py $(NLU_YAML)
	$(PY) -m encoder.intents --data data/nlu --out models/intent-encoder
	@touch $@

.PHONY: intent-encoder
intent-encoder: $(INTENT_ENCODER) ## Fine-tune MiniLM on data/nlu for the intent classifier (models/intent-encoder; minutes)

# The kind that won `make bench-routing` (crm/insights/routing.py DEFAULT_KIND).
$(ROUTING_MODEL): $(ACT_VENV)/.installed $(ENCODER) crm/insights/routing.py data/routing/train.csv data/routing/test.csv
	$(PY) -m crm routing-train --data data/routing/train.csv --test data/routing/test.csv \
		--model-out models/routing

.PHONY: train
train: $(RASA_VENV)/.installed $(INTENT_ENCODER) ## Train the Rasa model if its data changed
	@mkdir -p models
	@fingerprint=$$(cat $(RASA_DATA) $(NLU_CODE) $(INTENT_ENCODER) requirements/rasa-constraints.txt | sha256sum | cut -c1-16); \
	if [ -f models/larkspur.tar.gz ] && [ "$$(cat models/.fingerprint 2>/dev/null)" = "$$fingerprint" ]; then \
		echo "Rasa model is up to date ($$fingerprint)"; \
	else \
		$(RASA_CLI) train --fixed-model-name larkspur --out models && echo "$$fingerprint" > models/.fingerprint; \
	fi

.PHONY: setup
setup: venvs records index train ## Everything `run` needs, without starting servers

.PHONY: run
run: setup ## Set up, then start the action server and Rasa (Ctrl-C stops both)
	$(PY) -m serve.run

.PHONY: shell
shell: $(ACT_VENV)/.installed ## Chat with the running agent in the terminal
	@$(PY) -m serve.shell

.PHONY: staff-admin
staff-admin: records ## Create an admin of the agent console (asks for email, name and password)
	@read -r -p "Admin's email: " email && read -r -p "Admin's name: " name && \
		$(PY) -m crm staff add --role admin --email "$$email" --name "$$name"

.PHONY: lint
lint: $(ACT_VENV)/.installed ## ruff, mypy and the layer contracts (lint-imports)
	$(ACT_VENV)/bin/ruff check .
	$(ACT_VENV)/bin/ruff format --check .
	$(ACT_VENV)/bin/mypy config encoder bot actions console knowledge crm serve
	$(ACT_VENV)/bin/lint-imports --no-cache

# The fast loop while changing code: lint, then the unit tests that need no server, no browser
# and no Rasa venv. Left out, and run by `make test`: tests marked `slow` (Rasa venv, processes,
# simulations, seconds each) or `postgres`, the action tests (their session builds the whole
# knowledge index: add them with CHECK_TESTS="tests/unit tests/actions") and the conversations.
CHECK_TESTS := tests/unit
.PHONY: check
check: lint $(ENCODER) ## Lint and the fast unit tests (no servers, browser or Rasa venv; about a minute)
	$(PY) -m pytest -q $(CHECK_TESTS) -m "not slow and not postgres"

.PHONY: validate
validate: $(RASA_VENV)/.installed ## rasa data validate and Rasa's test stories
	$(RASA_CLI) data validate
	$(RASA_CLI_FIXED) test core --stories tests/stories --model models/larkspur.tar.gz \
		--out var/results/core --fail-on-prediction-errors --no-plot

# The browser tests drive Debian's Chromium through Playwright (never a browser Playwright downloads).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@echo "Installing Debian's chromium for the browser tests"
	$(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium \
		|| { $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -q && \
		     $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

.PHONY: browser
browser: $(CHROMIUM) ## Install Debian's Chromium for the browser tests, if missing

.PHONY: test
test: setup browser lint validate ## Set up and run every check: lint, types, Rasa checks, all tests
	$(PY) -m pytest

# Benchmarks, all named bench-<what>: each measures one thing and writes its table into docs/
# (docs/commands.md lists them). None runs in `check` or `test`: speed is measured, never asserted.
.PHONY: bench-load
bench-load: setup ## Throughput and latency through the REST channel (docs/benchmarks.md)
	$(PY) -m bench.load --write docs/benchmarks.md

.PHONY: bench-kb-eval
bench-kb-eval: $(KB) ## Knowledge retrieval per stage on StackFAQ and the shop's questions (docs/knowledge.md)
	$(PY) -m bench.kb_eval --write docs/knowledge.md
	$(PY) -m bench.kb_calibrate --write docs/knowledge.md

.PHONY: bench-kb-blind
bench-kb-blind: index $(ENCODER) train ## The knowledge base on the blind set's knowledge questions of BLIND_HALF (test; tune while tuning) (docs/knowledge.md)
	$(PY) -m bench.kb_blind --half $(BLIND_HALF) --nlu --write docs/knowledge.md

.PHONY: bench-kb-scale
bench-kb-scale: $(KB) ## Dense index build and query at 10k/100k/1M passages (docs/knowledge.md; ~25 min)
	$(PY) -m bench.kb_scale --write docs/knowledge.md

# `make bench-nlu-cv NLU_CONFIG=bench/configs/<variant>.yml` measures a variant into its own table.
NLU_CONFIG ?= config.yml
NLU_CV := $(if $(filter config.yml,$(NLU_CONFIG)),nlu-cv,nlu-cv-$(basename $(notdir $(NLU_CONFIG))))
# config.yml's intent encoder was fine-tuned on every example of data/nlu, the test folds too:
# cross-validation runs its pipeline with the stock encoder, which has seen none of them.
STOCK_CONFIG := var/config-stock-encoder.yml
$(STOCK_CONFIG): config.yml
	@mkdir -p var
	sed 's|model_dir: models/intent-encoder$$|model_dir: models/encoder|' config.yml > $@
	grep -q 'model_dir: models/encoder$$' $@
CV_CONFIG := $(if $(filter config.yml,$(NLU_CONFIG)),$(STOCK_CONFIG),$(NLU_CONFIG))
CV_LABEL := $(if $(filter config.yml,$(NLU_CONFIG)),config.yml with the stock encoder,$(NLU_CONFIG))

.PHONY: bench-nlu-cv
bench-nlu-cv: $(RASA_VENV)/.installed $(ACT_VENV)/.installed $(ENCODER) $(CV_CONFIG) ## NLU cross-validation per intent (docs/nlu.md; ~5 min)
	$(RASA_CLI) test nlu --nlu data/nlu --config $(CV_CONFIG) --cross-validation --folds 5 \
		--out var/results/$(NLU_CV) --no-plot
	$(PY) -m bench.nlu_cv --results var/results/$(NLU_CV) --folds 5 --config "$(CV_LABEL)" \
		--block $(NLU_CV) --write docs/nlu.md

# `make bench-nlu` trains the NLU pipeline on a labelled data set and tests it (docs/nlu.md):
# Banking77 from ../shared/data by default; NLU_TRAIN/NLU_TEST take any CSV (text,label) or
# Rasa YAML, NLU_CONFIG a variant, NLU_HOLDOUT=10 the out-of-scope protocol.
NLU_DATA ?= ../shared/data/banking77
NLU_TRAIN ?= $(NLU_DATA)/train.csv
NLU_TEST ?= $(NLU_DATA)/test.csv
NLU_NAME ?= $(notdir $(NLU_DATA))
NLU_HOLDOUT ?= 0

# The intent encoder is fine-tuned on the data set's own training messages; with intents held out,
# the stock encoder (a fine-tune would have seen the held-out intents).
NLU_ENCODER ?= $(if $(filter 0,$(NLU_HOLDOUT)),models/intent-encoder-$(NLU_NAME),models/encoder)

.PHONY: bench-nlu
bench-nlu: $(RASA_VENV)/.installed $(ACT_VENV)/.installed $(ENCODER) ## Train and test the NLU on a data set (Banking77; docs/nlu.md)
	$(if $(filter models/intent-encoder-%,$(NLU_ENCODER)),$(PY) -m encoder.intents --data $(NLU_TRAIN) --out $(NLU_ENCODER))
	$(RASA_PY) -m bench.nlu --train $(NLU_TRAIN) --test $(NLU_TEST) --config $(NLU_CONFIG) \
		--encoder $(NLU_ENCODER) --name $(NLU_NAME) --holdout $(NLU_HOLDOUT) --write docs/nlu.md

.PHONY: bench-nlu-oos
bench-nlu-oos: $(RASA_VENV)/.installed $(ENCODER) ## Out-of-scope detectors side by side on NLU_DATA, 10 intents unseen (docs/nlu.md)
	$(RASA_PY) -m bench.nlu_oos --train $(NLU_TRAIN) --test $(NLU_TEST) --holdout 10 \
		--write docs/nlu.md

# The agent's own model on customers' messages we did not write (bench/data/blind/README.md):
# BLIND_HALF=tune while changing anything; the test half only to report.
BLIND_HALF ?= test
.PHONY: bench-nlu-blind
bench-nlu-blind: train ## The agent's NLU on the blind set's BLIND_HALF (test; tune while tuning) (docs/nlu.md)
	$(RASA_PY) -m bench.nlu_blind --half $(BLIND_HALF) --write docs/nlu.md

# The blind conversations end to end through the REST channel, every turn machine-checked
# (tests/conversations/blind/); UPDATE_FAILING=1 also rewrites the tests' list of known failures.
.PHONY: bench-blind-conversations
bench-blind-conversations: train index $(ROUTING_MODEL) ## The blind conversations of BLIND_HALF (tune, test or both; dev: ours, bench/data/dev) end to end (docs/nlu.md)
	nice -n 10 $(PY) -m bench.blind_conversations --half $(BLIND_HALF) --write docs/nlu.md \
		$(if $(UPDATE_FAILING),--update-failing)

.PHONY: bench-crm-import
bench-crm-import: $(ACT_VENV)/.installed ## Time `crm import` of 10k and 100k messy customer rows into SQLite (docs/crm.md)
	$(PY) -m bench.crm_import --write docs/crm.md

.PHONY: bench-gaps
bench-gaps: $(ACT_VENV)/.installed $(ENCODER) ## Knowledge-gap clustering: purity per threshold on a labelled sample, timing (docs/crm.md)
	$(PY) -m bench.gaps --write docs/crm.md

.PHONY: bench-sentiment
bench-sentiment: $(ACT_VENV)/.installed ## Measure the sentiment model on labelled support messages (docs/handoff.md)
	$(PY) -m bench.sentiment --write docs/handoff.md

.PHONY: bench-propensity
bench-propensity: $(ACT_VENV)/.installed ## Simulate 100k customers, train and compare propensity models (docs/crm.md)
	$(PY) -m crm simulate --customers 100000 --out var/simulation.db --replace
	$(PY) -m bench.propensity --data var/simulation.db --model-out models/propensity --write docs/crm.md

# Recommendations (docs/crm.md): three simulated shops, models built before a cut-off, scored on
# each customer's next order after it.
REC_SEEDS := 1 2 3
.PHONY: bench-recommend
bench-recommend: $(ACT_VENV)/.installed $(ENCODER) ## Recommendations against popularity on a time split of 3 simulations (docs/crm.md)
	for seed in $(REC_SEEDS); do \
		$(PY) -m crm simulate --customers 20000 --seed $$seed --out var/sim-rec-$$seed.db --replace || exit 1; \
	done
	$(PY) -m bench.recommend $(foreach seed,$(REC_SEEDS),--data var/sim-rec-$(seed).db) --write docs/crm.md

.PHONY: bench-routing
bench-routing: $(ACT_VENV)/.installed $(ENCODER) ## Ticket routing: logistic regression against fine-tuned MiniLM, 3 seeds (docs/crm.md; ~10 min)
	$(PY) -m bench.routing --write docs/crm.md

.PHONY: clean
clean: ## Remove built state (models, var/); keeps the venvs
	rm -rf models var
