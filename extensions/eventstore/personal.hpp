// eventstore: personal data and crypto-shredding.
//
// set_personal_fields(type, subject_path, fields) marks fields of an event
// type as personal. On append each such field is sealed with AES-256-GCM
// under a key of its own per subject (eventstore.subject_keys); the event
// keeps {"subject", "fields"} in its `personal` column. Reads and replays
// open the fields again; forget(subject) deletes the key, after which they
// read as JSON null everywhere, and rebuilds the subject's streams in every
// projection so no state keeps the data.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aead.hpp"
#include "event_batch.hpp"
#include "jvalue.hpp"
#include "spi.hpp"

namespace casebook::eventstore::personal {

struct Spec;
using Specs = std::map<std::string, Spec, std::less<>>;

// Keys of subjects, loaded at most once per call, and the personal field
// definitions, looked up once per call (not once per event).
// lock: the caller writes what it derives from the keys (an append sealing
// fields, a fold storing state): each key row read is locked FOR SHARE until
// the transaction ends, so a concurrent forget() either waits for it (and
// then rebuilds what it wrote) or has committed first (and the key reads as
// gone). Read-only callers (reads, state_at) take no lock.
class KeyRing {
public:
    explicit KeyRing(spi::Connection& conn, bool lock = false) : conn_(conn), lock_(lock) {}
    std::optional<aead::Key> find(const std::string& subject);
    aead::Key find_or_create(const std::string& subject);
    const Specs& specs();

private:
    spi::Connection& conn_;
    bool lock_;
    std::map<std::string, std::optional<aead::Key>> cache_;
    std::shared_ptr<const Specs> specs_;
};

// Seals the personal fields of a fresh event (its id must be set).
// Returns the jsonb to store as event_data and sets `personal` (jsonb, or 0
// when the type has no personal fields). Records the subject's stream.
Datum protect(spi::Connection& conn, KeyRing& keys, const std::string& stream, const EventInput& ev,
              Datum event_id, Datum* personal);

// Opens the sealed fields of a stored event (NULL where the key is gone).
Datum reveal(KeyRing& keys, Datum data, Datum personal, Datum event_id);

void set_fields(spi::Connection& conn, const std::string& type, const std::optional<std::string>& subject_path,
                const std::vector<std::string>& fields);
bool forget(spi::Connection& conn, const std::string& subject);

}  // namespace casebook::eventstore::personal
