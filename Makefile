# Smarct DSAR — developer commands. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
VAR_DIR_TEST ?= var/test

.PHONY: run test install lint format bench lock clean migrate seed messages

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

## Start the demo: web server, Celery worker and beat (Ctrl-C stops all three).
run: seed
	$(BIN)/python manage.py run_demo

## The whole test suite, on the embedded default (SQLite, file-system broker) unless
## DATABASE_URL / CELERY_BROKER_URL say otherwise.
test: install
	VAR_DIR=$(VAR_DIR_TEST) $(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	VAR_DIR=$(VAR_DIR_TEST) $(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Every benchmark, then one table of all figures beside their baselines (bench/results/*.json).
BENCHES := gather erase exports dashboard record_viewer intake end_to_end
bench: install
	@for b in $(BENCHES); do VAR_DIR=var/bench $(BIN)/python bench/$$b.py || exit 1; done
	@$(BIN)/python bench/summary.py

## The catalogue of a language (Welsh unless MESSAGES_LANGUAGE says otherwise): every marked
## sentence of the public side into locale/<language>/LC_MESSAGES/django.po, then compiled to
## django.mo (both committed). Needs GNU gettext (Debian: gettext).
MESSAGES_LANGUAGE ?= cy
messages: install
	VAR_DIR=$(VAR_DIR_TEST) $(BIN)/python manage.py makemessages -l $(MESSAGES_LANGUAGE) \
	  --add-location file --no-wrap -i ".venv/*" -i "tests/*" -i "bench/*" -i "var/*" \
	  -i "staticfiles/*" -i "demo/*" -i "docs/*" -i "deploy/*"
	VAR_DIR=$(VAR_DIR_TEST) $(BIN)/python manage.py compilemessages -l $(MESSAGES_LANGUAGE) --ignore .venv

## Re-resolve the newest allowed versions and pin them.
lock:
	rm -rf /tmp/dsar-lock && $(PYTHON) -m venv /tmp/dsar-lock
	/tmp/dsar-lock/bin/pip install --quiet -e ".[dev]"
	(echo "# Pinned versions of every dependency, for reproducible installs (pip install -c constraints.txt)."; \
	 echo "# Regenerate: make lock"; /tmp/dsar-lock/bin/pip freeze --exclude-editable | grep -v '^smarct') > constraints.txt

clean:
	rm -rf $(VENV) var/test var/test-pg .pytest_cache .mypy_cache .ruff_cache
