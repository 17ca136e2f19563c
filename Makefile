# casebook: PostgreSQL 15 extensions in C++, built with PGXS.
#
#   make / make install        build and install every extension
#   make installcheck          pg_regress + isolation specs against a running server
#   make upgradecheck          every older version updated to the current one, compared with a fresh install
#   make demo                  set up everything, run every extension's demo, print a scoreboard
#   make test                  set up everything, run every suite, end with "N passed, N failed"
#   make stop                  stop the throwaway cluster
#   make bench                 pgbench comparisons (see docs/benchmarks.md)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)

# Extensions: one folder each under extensions/, one control file each under control/.
EXTENSIONS := commerce eventstore feed tenancy analytics georoute
# The version every extension is at: default_version in control/<ext>.control,
# a full install script extensions/<ext>/<ext>--$(EXTVERSION).sql and the
# versions in META.json (check-versions). Older full scripts stay installable
# and are upgraded by extensions/<ext>/<ext>--<old>--<new>.sql (make
# upgradecheck, docs/upgrading.md). Not named VERSION: PGXS sets that to
# PostgreSQL's version.
EXTVERSION := 0.2.0

CORE_OBJS := $(patsubst %.cpp,%.o,$(wildcard extensions/core/*.cpp))
commerce_OBJS := $(patsubst %.cpp,%.o,$(wildcard extensions/commerce/*.cpp)) $(CORE_OBJS)
eventstore_OBJS := $(patsubst %.cpp,%.o,$(wildcard extensions/eventstore/*.cpp)) $(CORE_OBJS)
feed_OBJS := $(patsubst %.cpp,%.o,$(wildcard extensions/feed/*.cpp)) $(CORE_OBJS)
tenancy_OBJS := $(patsubst %.cpp,%.o,$(wildcard extensions/tenancy/*.cpp)) $(CORE_OBJS)
analytics_OBJS := $(patsubst %.cpp,%.o,$(wildcard extensions/analytics/*.cpp)) $(CORE_OBJS)
georoute_OBJS := $(patsubst %.cpp,%.o,$(wildcard extensions/georoute/*.cpp)) $(CORE_OBJS)
georoute_LIBS := -lpq
# Test-only module: exercises the C++/PostgreSQL boundary (docs/architecture.md).
casebook_selftest_OBJS := $(patsubst %.cpp,%.o,$(wildcard test/selftest/*.cpp)) $(CORE_OBJS)

MODULES := $(foreach e,$(EXTENSIONS),extensions/$(e)/$(e)) test/selftest/casebook_selftest
MODULEDIR := extension
DATA := $(addprefix control/,$(addsuffix .control,$(EXTENSIONS))) \
	$(foreach e,$(EXTENSIONS),$(wildcard extensions/$(e)/$(e)--*.sql)) \
	test/selftest/casebook_selftest.control $(wildcard test/selftest/casebook_selftest--*.sql)

# pg_regress (sql/, expected/) and isolation specs (test/isolation/).
REGRESS := core_boundary core_layout commerce_schema commerce_stock commerce_reserve commerce_cart \
	commerce_checkout commerce_catalog eventstore_append eventstore_reads eventstore_subscriptions \
	eventstore_personal eventstore_projections eventstore_upcasters eventstore_projection_safety \
	eventstore_notify eventstore_partitioned eventstore_positions eventstore_untrusted_code feed_basics feed_trim feed_bulk \
	tenancy_context tenancy_protect tenancy_attacks tenancy_limits tenancy_gdpr tenancy_audit tenancy_isolate \
	analytics_basics analytics_accuracy analytics_dba georoute_basics georoute_generated
REGRESS_OPTS := --inputdir=. --load-extension=plpgsql
ISOLATION := commerce_last_unit commerce_cart_order commerce_expire_confirm commerce_buckets \
	commerce_idempotency commerce_repeatable_read eventstore_expected_version eventstore_out_of_order \
	eventstore_competing_consumers eventstore_idempotent_retry eventstore_repeatable_read \
	eventstore_rebuild_concurrent eventstore_inline_projection feed_follow_post feed_unfollow_delete_fanout feed_inactive_rebuild feed_wake_post feed_sweep_wake feed_sweep_lock_order \
	feed_follow_fanout core_drop_race eventstore_forget_race eventstore_rebuild_runner tenancy_sessions tenancy_isolate \
	analytics_refresh analytics_retention
ISOLATION_OPTS := --inputdir=test/isolation --outputdir=output_iso
# The eventstore specs again, on a range-partitioned store
# (test/isolation/partitioned-setup.sql).
ISOLATION_PARTITIONED := $(filter eventstore_%,$(ISOLATION))
ISOLATION_PARTITIONED_DB := isolation_partitioned
PSQL = $(shell $(PG_CONFIG) --bindir)/psql -X -q -v ON_ERROR_STOP=1

# No LLVM bitcode: the JIT inlining files are not needed for C++ modules.
override with_llvm := no

WERROR ?= 0
PG_CXXFLAGS := -std=c++20 -fPIC -Wall -Wextra -Wno-missing-field-initializers \
	-isystem $(shell $(PG_CONFIG) --includedir-server) -Iextensions/core -Iextensions -MMD -MP
ifeq ($(WERROR),1)
PG_CXXFLAGS += -Werror
endif
# -Bsymbolic: each module calls its own copy of the core. PostgreSQL loads
# modules RTLD_GLOBAL, so without it a module's calls into the core would
# bind to the copy in whichever module was loaded first (eventstore, from
# shared_preload_libraries), which may be another build of the core: a
# crash after installing one module without restarting (seen in
# development).
SHLIB_LINK := -lstdc++ -lcrypto -Wl,-Bsymbolic
EXTRA_CLEAN := $(CORE_OBJS) $(commerce_OBJS) $(eventstore_OBJS) $(feed_OBJS) $(tenancy_OBJS) $(analytics_OBJS) $(casebook_selftest_OBJS) \
	$(shell find extensions test/selftest -name '*.d' 2>/dev/null) output_iso output_iso_partitioned build/demo

include $(PGXS)

# Each module links its own objects plus the shared core.
define module_rule
$(1).so: $$($(notdir $(1))_OBJS)
	$$(CXX) $$(CXXFLAGS) $$(PG_CXXFLAGS) $$^ $$(LDFLAGS) $$(LDFLAGS_SL) -shared -o $$@ $$(SHLIB_LINK) $$($$(notdir $(1))_LIBS)
endef
$(foreach m,$(MODULES),$(eval $(call module_rule,$(m))))

-include $(shell find extensions test/selftest -name '*.d' 2>/dev/null)

# A test file that no schedule names never runs: refuse to build. Before a
# test run, every scheduled test must also exist.
all: check-unscheduled check-versions
installcheck regresscheck isolationcheck isolationcheck-partitioned: check-schedule
.PHONY: check-unscheduled check-schedule check-versions regresscheck isolationcheck isolationcheck-partitioned \
	upgradecheck demo test stop bench unit
check-unscheduled:
	@missing=""; \
	for f in sql/*.sql; do [ -e "$$f" ] || continue; t=$$(basename $$f .sql); \
	  case " $(REGRESS) " in *" $$t "*) ;; *) missing="$$missing $$f";; esac; done; \
	for f in test/isolation/specs/*.spec; do [ -e "$$f" ] || continue; t=$$(basename $$f .spec); \
	  case " $(ISOLATION) " in *" $$t "*) ;; *) missing="$$missing $$f";; esac; done; \
	if [ -n "$$missing" ]; then echo "test files that no schedule in the Makefile names:$$missing" >&2; exit 1; fi
check-schedule:
	@missing=""; \
	for f in sql/*.sql; do [ -e "$$f" ] || continue; t=$$(basename $$f .sql); \
	  case " $(REGRESS) " in *" $$t "*) ;; *) missing="$$missing sql/$$t.sql";; esac; \
	  [ -f expected/$$t.out ] || missing="$$missing expected/$$t.out(absent)"; done; \
	for f in test/isolation/specs/*.spec; do [ -e "$$f" ] || continue; t=$$(basename $$f .spec); \
	  case " $(ISOLATION) " in *" $$t "*) ;; *) missing="$$missing $$f";; esac; \
	  [ -f test/isolation/expected/$$t.out ] || missing="$$missing test/isolation/expected/$$t.out(absent)"; done; \
	for t in $(REGRESS); do [ -f sql/$$t.sql ] || missing="$$missing sql/$$t.sql(absent)"; done; \
	for t in $(ISOLATION); do [ -f test/isolation/specs/$$t.spec ] || missing="$$missing test/isolation/specs/$$t.spec(absent)"; done; \
	if [ -n "$$missing" ]; then echo "test files not in the Makefile schedule, or missing:$$missing" >&2; exit 1; fi

check-versions:
	@bad=""; \
	for e in $(EXTENSIONS); do \
	  grep -qx "default_version = '$(EXTVERSION)'" control/$$e.control || bad="$$bad control/$$e.control"; \
	  [ -f extensions/$$e/$$e--$(EXTVERSION).sql ] || bad="$$bad extensions/$$e/$$e--$(EXTVERSION).sql(absent)"; \
	done; \
	n=$$(grep -c '"version": "$(EXTVERSION)"' META.json); \
	[ "$$n" -eq $$(($(words $(EXTENSIONS)) + 1)) ] || bad="$$bad META.json($$n versions)"; \
	if [ -n "$$bad" ]; then echo "not at version $(EXTVERSION):$$bad" >&2; exit 1; fi

# pg_regress and isolation as two targets, so `make -k` runs both even when
# the first fails (PGXS's installcheck stops after pg_regress).
regresscheck:
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)
isolationcheck:
	$(pg_isolation_regress_installcheck) $(ISOLATION_OPTS) $(ISOLATION)
isolationcheck-partitioned:
	$(PSQL) -d postgres \
	  -c 'DROP DATABASE IF EXISTS $(ISOLATION_PARTITIONED_DB) WITH (FORCE)' -c 'CREATE DATABASE $(ISOLATION_PARTITIONED_DB)'
	$(PSQL) -d $(ISOLATION_PARTITIONED_DB) -f test/isolation/partitioned-setup.sql
	$(pg_isolation_regress_installcheck) --inputdir=test/isolation --outputdir=output_iso_partitioned \
	  --use-existing --dbname=$(ISOLATION_PARTITIONED_DB) $(ISOLATION_PARTITIONED)

# Each older version, installed with data and updated, against a fresh
# install (test/upgrade/run.sh), on a running server.
upgradecheck:
	bash test/upgrade/run.sh

demo:
	bash test/harness/demo.sh
test:
	bash test/harness/run-tests.sh
stop:
	bash test/harness/cluster.sh stop
	CASEBOOK_REGION_SET=demo CASEBOOK_REGION_PORT_BASE=55451 bash test/harness/regions.sh stop
bench:
	bash test/bench/run.sh
unit:
	cmake -S . -B build/cmake >/dev/null && cmake --build build/cmake -j2 && ctest --test-dir build/cmake --output-on-failure
