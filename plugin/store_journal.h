// The challenge store on disk: a journal of records plus a snapshot file.
//
// <state-dir>/journal is a sequence of frames, appended and fsync'd:
//
//     u32 length (of payload, big-endian) | u32 CRC-32 of payload | payload
//
// A payload is one record: the store's serial after a change, and the full
// new content of every name the change touched (an empty list: the name is
// gone). Replaying a record therefore sets those names, whatever they held:
// replay is idempotent and needs neither the prerequisites nor the limits.
//
//     u8 version (1) | u32 serial | u32 name count |
//       per name: u8 length, name text | u32 value count |
//         per value: i64 expiry (µs since the Unix epoch) | u8 string count |
//           per string: u8 length, octets
//
// A crash can leave the last frame torn (short, or a CRC that does not
// match): the loader keeps everything before it and truncates the rest.
//
// <state-dir>/snapshot holds "ACMEZS2\n", a u64 length, a u32 CRC-32 and
// one record carrying every name (no size bound but the file's: a large
// store can always be compacted; "ACMEZS1\n" files, whose length was a u32
// within the journal's 1 GiB frame bound, are still read); it is written atomically
// (write_file_atomic), in pieces straight from the table (never whole in memory), when the journal
// grows past StoreOptions::compact_after records, and the journal is then
// truncated. Journal records whose serial is not above the snapshot's are
// skipped on load (a crash between the two steps leaves them behind).
//
// Thread safety: none; the store serializes every call.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "plugin/challenge_table.h"

namespace acmezone::plugin::store_journal {

struct NameState {
    DnsName name;
    std::vector<TxtValue> values;
};

struct Record {
    std::uint32_t serial = 0;
    std::vector<NameState> names;
};

// CRC-32 (IEEE, as zlib's crc32()); crc32(b, crc32(a)) == crc32(a + b).
std::uint32_t crc32(std::string_view data, std::uint32_t previous = 0);

// One framed record, ready to append.
std::string encode_frame(const Record& record);

struct Decoded {
    std::vector<Record> records;   // decode_frames only
    std::size_t record_count = 0;  // good records
    std::size_t good_bytes = 0;    // frames before the first bad one
    std::string torn;              // why decoding stopped early ("" when all was good)
};
Decoded decode_frames(std::string_view data);
// The same, handing each good record to each() in order instead of keeping
// them (a journal's records are never all in memory at once).
Decoded decode_frames_each(std::string_view data, const std::function<void(Record&&)>& each);

// The snapshot file's content for `snapshot`, and back; decode throws
// std::runtime_error naming `origin` on anything malformed. write_snapshot
// hands the content to `write` in pieces (about one per name), never
// holding it whole; encode_snapshot gathers them (for tests).
void write_snapshot(const Snapshot& snapshot, const std::function<void(std::string_view)>& write);
std::string encode_snapshot(const Snapshot& snapshot);
Record decode_snapshot(std::string_view data, const std::string& origin);
// The same, one name at a time (no Record holding every value at once):
// calls each() for every name, returns the serial. On a malformed snapshot
// it throws, possibly after some calls.
std::uint32_t decode_snapshot_each(std::string_view data, const std::string& origin,
                                   const std::function<void(NameState&&)>& each);

// The snapshot file: written atomically (write_file_atomic, mode 0600) in
// pieces; read through a private mapping, one name at a time. Both throw
// naming the path.
void write_snapshot_file(const std::filesystem::path& path, const Snapshot& snapshot);
std::uint32_t load_snapshot_file(const std::filesystem::path& path,
                                 const std::function<void(NameState&&)>& each);

// The journal file, opened for appending at its end.
class JournalFile {
  public:
    // Opens (creating with mode 0600) `path`; reads what is there into
    // *existing. Throws std::system_error naming the path.
    JournalFile(std::filesystem::path path, std::string* existing);
    ~JournalFile();
    JournalFile(const JournalFile&) = delete;
    JournalFile& operator=(const JournalFile&) = delete;

    // Writes `bytes` at the end and fdatasync()s. On failure returns false
    // with *error set ("<path>: write: No space left on device") and cuts the
    // file back to its previous length, so a failed append leaves no trace.
    bool append_durable(std::string_view bytes, std::string* error);
    // Cuts the file to `length` octets and syncs; false with *error on failure.
    bool truncate(std::size_t length, std::string* error);

    std::size_t size() const { return size_; }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
    int fd_ = -1;
    std::size_t size_ = 0;
    bool dirty_ = false;  // a failed append could not be cut back yet
};

}  // namespace acmezone::plugin::store_journal
