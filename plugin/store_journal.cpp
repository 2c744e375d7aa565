// The challenge store's journal and snapshot formats: see store_journal.h.
#include "plugin/store_journal.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <system_error>

#include "common/file_io.h"

namespace acmezone::plugin::store_journal {

namespace {

constexpr std::uint8_t kVersion = 1;
// Version 1 framed the snapshot like a journal record (u32 length, at most
// kMaxFrame); version 2, written since, has a u64 length bounded only by
// the file, so a large store can always be compacted. Both are read.
constexpr std::string_view kSnapshotMagicV1 = "ACMEZS1\n";
constexpr std::string_view kSnapshotMagic = "ACMEZS2\n";
constexpr std::size_t kMaxFrame = 1u << 30;  // sanity bound for a journal record's length

std::array<std::uint32_t, 256> make_crc_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) {
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        table[i] = c;
    }
    return table;
}

void put_u8(std::string& out, std::uint8_t v) {
    out.push_back(static_cast<char>(v));
}
void put_u32(std::string& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((v >> shift) & 0xff));
    }
}
void put_i64(std::string& out, std::int64_t v) {
    auto u = static_cast<std::uint64_t>(v);
    for (int shift = 56; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((u >> shift) & 0xff));
    }
}
void put_str8(std::string& out, std::string_view s) {
    if (s.size() > 255) {
        throw std::length_error("journal: string longer than 255 octets");
    }
    put_u8(out, static_cast<std::uint8_t>(s.size()));
    out.append(s);
}

// Reads from a payload; every read is bounds-checked and throws on overrun.
class Reader {
  public:
    explicit Reader(std::string_view data) : data_(data) {}
    std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)[0]); }
    std::uint32_t u32() {
        auto b = take(4);
        std::uint32_t v = 0;
        for (char c : b) {
            v = (v << 8) | static_cast<std::uint8_t>(c);
        }
        return v;
    }
    std::int64_t i64() {
        auto b = take(8);
        std::uint64_t v = 0;
        for (char c : b) {
            v = (v << 8) | static_cast<std::uint8_t>(c);
        }
        return static_cast<std::int64_t>(v);
    }
    std::string_view str8() { return take(u8()); }
    bool done() const { return pos_ == data_.size(); }

  private:
    std::string_view take(std::size_t n) {
        if (data_.size() - pos_ < n) {
            throw std::runtime_error("record ends early");
        }
        auto s = data_.substr(pos_, n);
        pos_ += n;
        return s;
    }
    std::string_view data_;
    std::size_t pos_ = 0;
};

void put_name_state(std::string& out, const DnsName& name, const std::vector<TxtValue>& values) {
    put_str8(out, name.text());
    put_u32(out, static_cast<std::uint32_t>(values.size()));
    for (const auto& v : values) {
        auto us =
            std::chrono::duration_cast<std::chrono::microseconds>(v.expires.time_since_epoch());
        put_i64(out, us.count());
        if (v.data.size() > 255) {
            throw std::length_error("journal: TXT record with more than 255 strings");
        }
        put_u8(out, static_cast<std::uint8_t>(v.data.size()));
        for (const auto& s : v.data) {
            put_str8(out, s);
        }
    }
}

// Frames `out` from offset `head` on: the 8 octets there, reserved by
// begin_frame(), get the length and checksum of what follows them.
std::size_t begin_frame(std::string& out) {
    std::size_t head = out.size();
    out.append(8, '\0');
    return head;
}
void end_frame(std::string& out, std::size_t head) {
    std::string_view payload = std::string_view(out).substr(head + 8);
    std::string fields;
    put_u32(fields, static_cast<std::uint32_t>(payload.size()));
    put_u32(fields, crc32(payload));
    out.replace(head, 8, fields);
}

// Calls each(NameState&&) for every name of `payload`, in order; returns the
// record's serial. Throws std::runtime_error on anything malformed.
template <class Each>
std::uint32_t decode_payload_each(std::string_view payload, Each&& each) {
    Reader in(payload);
    if (in.u8() != kVersion) {
        throw std::runtime_error("unknown record version");
    }
    const std::uint32_t serial = in.u32();
    std::uint32_t names = in.u32();
    for (std::uint32_t i = 0; i < names; ++i) {
        NameState ns;
        ns.name = DnsName::parse(in.str8());
        std::uint32_t values = in.u32();
        for (std::uint32_t j = 0; j < values; ++j) {
            TxtValue v;
            // Within what the clock can hold (system_clock counts
            // nanoseconds: years 1678..2261); the store never writes more.
            constexpr auto kMin =
                std::chrono::duration_cast<std::chrono::microseconds>(Clock::duration::min());
            constexpr auto kMax =
                std::chrono::duration_cast<std::chrono::microseconds>(Clock::duration::max());
            const std::int64_t us = in.i64();
            if (us <= kMin.count() || us >= kMax.count()) {
                throw std::runtime_error("expiry time out of range");
            }
            v.expires = Clock::time_point(
                std::chrono::duration_cast<Clock::duration>(std::chrono::microseconds(us)));
            std::uint8_t strings = in.u8();
            for (std::uint8_t k = 0; k < strings; ++k) {
                v.data.emplace_back(in.str8());
            }
            ns.values.push_back(std::move(v));
        }
        each(std::move(ns));
    }
    if (!in.done()) {
        throw std::runtime_error("trailing bytes in record");
    }
    return serial;
}

Record decode_payload(std::string_view payload) {
    Record r;
    r.serial =
        decode_payload_each(payload, [&r](NameState&& ns) { r.names.push_back(std::move(ns)); });
    return r;
}

std::system_error errno_error(const std::filesystem::path& path, const char* what) {
    return std::system_error(errno, std::generic_category(), path.string() + ": " + what);
}

std::string errno_text(const std::filesystem::path& path, const char* what) {
    return path.string() + ": " + what + ": " + std::strerror(errno);
}

}  // namespace

std::uint32_t crc32(std::string_view data, std::uint32_t previous) {
    static const auto table = make_crc_table();
    std::uint32_t c = previous ^ 0xFFFFFFFFu;
    for (char ch : data) {
        c = table[(c ^ static_cast<std::uint8_t>(ch)) & 0xff] ^ (c >> 8);
    }
    return c ^ 0xFFFFFFFFu;
}

std::string encode_frame(const Record& record) {
    std::string out;
    std::size_t head = begin_frame(out);
    put_u8(out, kVersion);
    put_u32(out, record.serial);
    put_u32(out, static_cast<std::uint32_t>(record.names.size()));
    for (const auto& ns : record.names) {
        put_name_state(out, ns.name, ns.values);
    }
    end_frame(out, head);
    return out;
}

Decoded decode_frames_each(std::string_view data, const std::function<void(Record&&)>& each) {
    Decoded d;
    std::size_t pos = 0;
    while (pos < data.size()) {  // bounded: each pass consumes at least 8 octets
        if (data.size() - pos < 8) {
            d.torn = "incomplete frame header";
            break;
        }
        Reader head(data.substr(pos, 8));
        std::uint32_t length = head.u32();
        std::uint32_t sum = head.u32();
        if (length == 0 || length > kMaxFrame) {
            d.torn = "bad frame length " + std::to_string(length);
            break;
        }
        if (data.size() - pos - 8 < length) {
            d.torn = "incomplete frame";
            break;
        }
        std::string_view payload = data.substr(pos + 8, length);
        if (crc32(payload) != sum) {
            d.torn = "checksum mismatch";
            break;
        }
        Record record;
        try {
            record = decode_payload(payload);
        } catch (const std::exception& e) {
            d.torn = std::string("undecodable record: ") + e.what();
            break;
        }
        each(std::move(record));
        ++d.record_count;
        pos += 8 + length;
        d.good_bytes = pos;
    }
    return d;
}

Decoded decode_frames(std::string_view data) {
    std::vector<Record> records;
    Decoded d =
        decode_frames_each(data, [&records](Record&& r) { records.push_back(std::move(r)); });
    d.records = std::move(records);
    return d;
}

namespace {

// Calls emit(piece) for the snapshot record's payload, in order, one name at
// a time: straight from the table, whose encoding of a name is the
// journal's but for expiries in clock ticks (turned into µs here).
template <class Emit>
void emit_snapshot_payload(const Snapshot& snapshot, Emit&& emit) {
    std::string piece;
    put_u8(piece, kVersion);
    put_u32(piece, snapshot.serial);
    put_u32(piece, static_cast<std::uint32_t>(snapshot.size()));
    emit(std::string_view(piece));
    snapshot.for_each_encoded([&](std::string_view name, std::uint32_t count,
                                  std::string_view values) {
        piece.clear();
        put_str8(piece, name);
        put_u32(piece, count);
        Reader in(values);
        for (std::uint32_t i = 0; i < count; ++i) {
            const Clock::duration ticks(static_cast<Clock::rep>(in.i64()));
            put_i64(piece, std::chrono::duration_cast<std::chrono::microseconds>(ticks).count());
            const std::uint8_t strings = in.u8();
            put_u8(piece, strings);
            for (std::uint8_t k = 0; k < strings; ++k) {
                put_str8(piece, in.str8());
            }
        }
        emit(std::string_view(piece));
    });
}

}  // namespace

void write_snapshot(const Snapshot& snapshot, const std::function<void(std::string_view)>& write) {
    // Two passes over the (immutable) table: the frame's length and
    // checksum come before the payload, and the payload is never held whole.
    std::size_t length = 0;
    std::uint32_t sum = 0;
    emit_snapshot_payload(snapshot, [&](std::string_view piece) {
        length += piece.size();
        sum = crc32(piece, sum);
    });
    std::string head(kSnapshotMagic);
    put_i64(head, static_cast<std::int64_t>(length));
    put_u32(head, sum);
    write(head);
    emit_snapshot_payload(snapshot, write);
}

std::string encode_snapshot(const Snapshot& snapshot) {
    std::string out;
    write_snapshot(snapshot, [&out](std::string_view piece) { out.append(piece); });
    return out;
}

void write_snapshot_file(const std::filesystem::path& path, const Snapshot& snapshot) {
    write_file_atomic(path, 0600,
                      [&snapshot](const ChunkSink& write) { write_snapshot(snapshot, write); });
}

std::uint32_t load_snapshot_file(const std::filesystem::path& path,
                                 const std::function<void(NameState&&)>& each) {
    // Mapped, not read into the heap: the file's pages are the page cache's
    // and leave named's resident memory when unmapped.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw errno_error(path, "open");
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int saved = errno;
        ::close(fd);
        errno = saved;
        throw errno_error(path, "fstat");
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size == 0) {
        ::close(fd);
        return decode_snapshot_each({}, path.string(), each);  // throws: bad magic
    }
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int saved = errno;
    ::close(fd);
    if (map == MAP_FAILED) {
        errno = saved;
        throw errno_error(path, "mmap");
    }
    struct Unmap {
        void* p;
        std::size_t n;
        ~Unmap() { ::munmap(p, n); }
    } unmap{map, size};
    ::madvise(map, size, MADV_SEQUENTIAL);
    return decode_snapshot_each(std::string_view(static_cast<const char*>(map), size),
                                path.string(), each);
}

std::uint32_t decode_snapshot_each(std::string_view data, const std::string& origin,
                                   const std::function<void(NameState&&)>& each) {
    auto corrupt = [&origin](const std::string& why) {
        return std::runtime_error(origin + ": corrupt snapshot (" + why +
                                  "); move it away to start from the journal alone");
    };
    const bool v1 = data.starts_with(kSnapshotMagicV1);
    if (!v1 && !data.starts_with(kSnapshotMagic)) {
        throw std::runtime_error(origin + ": not an acmezone snapshot (bad magic)");
    }
    data.remove_prefix(kSnapshotMagic.size());
    const std::size_t head_size = v1 ? 8 : 12;
    if (data.size() < head_size) {
        throw corrupt("incomplete frame header");
    }
    Reader head(data.substr(0, head_size));
    const std::uint64_t length = v1 ? head.u32() : static_cast<std::uint64_t>(head.i64());
    const std::uint32_t sum = head.u32();
    if (length == 0 || (v1 && length > kMaxFrame)) {
        throw corrupt("bad frame length " + std::to_string(length));
    }
    if (data.size() - head_size < length) {
        throw corrupt("incomplete frame");
    }
    if (data.size() - head_size > length) {
        throw corrupt("unexpected content");
    }
    const std::string_view payload = data.substr(head_size);
    if (crc32(payload) != sum) {
        throw corrupt("checksum mismatch");
    }
    try {
        return decode_payload_each(payload, each);
    } catch (const std::exception& e) {
        throw corrupt(std::string("undecodable record: ") + e.what());
    }
}

Record decode_snapshot(std::string_view data, const std::string& origin) {
    Record r;
    r.serial = decode_snapshot_each(data, origin,
                                    [&r](NameState&& ns) { r.names.push_back(std::move(ns)); });
    return r;
}

JournalFile::JournalFile(std::filesystem::path path, std::string* existing)
    : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) {
        throw errno_error(path_, "open");
    }
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        int saved = errno;
        ::close(fd_);
        errno = saved;
        throw errno_error(path_, "fstat");
    }
    // Read exactly the size the file has now (a device would read forever).
    existing->assign(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < existing->size()) {
        ssize_t n =
            ::pread(fd_, existing->data() + got, existing->size() - got, static_cast<off_t>(got));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int saved = n < 0 ? errno : EIO;
            ::close(fd_);
            errno = saved;
            throw errno_error(path_, "read");
        }
        got += static_cast<std::size_t>(n);
    }
    size_ = got;
    fsync_directory(path_.parent_path());
}

JournalFile::~JournalFile() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

bool JournalFile::truncate(std::size_t length, std::string* error) {
    if (::ftruncate(fd_, static_cast<off_t>(length)) != 0) {
        *error = errno_text(path_, "truncate");
        return false;
    }
    if (::fdatasync(fd_) != 0) {
        *error = errno_text(path_, "fdatasync");
        return false;
    }
    size_ = length;
    dirty_ = false;
    return true;
}

bool JournalFile::append_durable(std::string_view bytes, std::string* error) {
    if (dirty_ && !truncate(size_, error)) {
        return false;
    }
    std::size_t done = 0;
    bool ok = true;
    while (done < bytes.size()) {  // bounded: each pass writes > 0 octets or stops
        ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done,
                             static_cast<off_t>(size_ + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = EIO;
            }
            *error = errno_text(path_, "write");
            ok = false;
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    if (ok && ::fdatasync(fd_) != 0) {
        *error = errno_text(path_, "fdatasync");
        ok = false;
    }
    if (ok) {
        size_ += bytes.size();
        return true;
    }
    // Leave no trace of what could not be made durable.
    dirty_ = true;
    if (::ftruncate(fd_, static_cast<off_t>(size_)) == 0) {
        dirty_ = false;
    }
    return false;
}

}  // namespace acmezone::plugin::store_journal
