#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "error.h"

namespace offpeak {

class PgConnection;

// Big-endian integers, as PostgreSQL's binary formats write them.
void put_int16(std::string& out, std::int16_t value);
void put_int32(std::string& out, std::int32_t value);
void put_int64(std::string& out, std::int64_t value);

// A big-endian unsigned integer of up to 8 bytes, as a binary field holds it.
inline std::uint64_t big_endian(std::string_view bytes) {
  std::uint64_t value = 0;
  for (const char byte : bytes) value = value << 8 | static_cast<unsigned char>(byte);
  return value;
}

// Type OIDs the loader sends in binary.
inline constexpr unsigned int kTextOid = 25, kByteaOid = 17, kInt8Oid = 20, kTextArrayOid = 1009,
                              kByteaArrayOid = 1001, kTimestamptzOid = 1184,
                              kTimestamptzArrayOid = 1185;

// A one-dimensional array parameter in binary format, filled element by element.
class PgArrayBuilder {
 public:
  explicit PgArrayBuilder(unsigned int element_type);
  void add(std::string_view element);
  void add_null();
  // The finished array; the builder can then be reused after clear().
  [[nodiscard]] std::string_view finish();
  void clear();

 private:
  std::string data_;
  std::int32_t count_ = 0;
};

// Rows of COPY ... FROM STDIN (FORMAT binary), encoded into a buffer: the header first, then
// per row its field count and fields, then the trailer.
class CopyWriter {
 public:
  CopyWriter() { start(); }

  void row(std::int16_t fields) { put_int16(data_, fields); }
  void field(std::string_view bytes) {
    put_int32(data_, static_cast<std::int32_t>(bytes.size()));
    data_.append(bytes);
  }
  void null_field() { put_int32(data_, -1); }
  void int64_field(std::int64_t value) {
    put_int32(data_, 8);
    put_int64(data_, value);
  }
  // jsonb's binary form: a version byte, 1, and the text.
  void jsonb_field(std::string_view json) {
    put_int32(data_, static_cast<std::int32_t>(json.size() + 1));
    data_ += '\x01';
    data_.append(json);
  }
  void end() { put_int16(data_, -1); }

  [[nodiscard]] const std::string& data() const { return data_; }
  // Forgets what data() holds, once sent; a new COPY starts with start().
  void clear() { data_.clear(); }
  void start();

 private:
  std::string data_;
};

// Rows of COPY ... TO STDOUT (FORMAT binary), decoded from the pieces the server sends, which
// need not end at a row's end. A NULL field reads as an empty view with no data.
class CopyReader {
 public:
  // Decodes `piece`, calling `row(fields)` with each row it completes; false once the data
  // is not COPY's binary format.
  template <typename RowFn>
  bool take(std::string_view piece, RowFn&& row) {
    pending_.append(piece);
    std::size_t at = 0;
    if (!header_) {
      // The signature, flags, and an extension of the length that follows them.
      if (pending_.size() < 19 || pending_.size() < 19 + uint_at(15, 4)) return ok_;
      if (std::string_view(pending_).substr(0, 11) != std::string_view("PGCOPY\n\xff\r\n\0", 11))
        return ok_ = false;
      at = 19 + uint_at(15, 4);
      header_ = true;
    }
    while (ok_ && pending_.size() >= at + 2) {
      const std::uint32_t count = uint_at(at, 2);
      if (count == 0xffff) {  // the trailer
        at = pending_.size();
        break;
      }
      std::size_t end = at + 2;
      fields_.clear();
      for (std::uint32_t i = 0; i < count && end != 0; ++i) {
        if (pending_.size() < end + 4) {
          end = 0;
          break;
        }
        const std::uint32_t size = uint_at(end, 4);
        end += 4;
        if (size == 0xffffffff) {
          fields_.emplace_back();
          continue;
        }
        if (pending_.size() < end + size) {
          end = 0;
          break;
        }
        fields_.emplace_back(pending_.data() + end, size);
        end += size;
      }
      if (end == 0) break;  // the row's rest is in a later piece
      row(static_cast<const std::vector<std::string_view>&>(fields_));
      at = end;
    }
    pending_.erase(0, at);
    return ok_;
  }

  // Whether the data ended where a row or the trailer does.
  [[nodiscard]] bool complete() const { return ok_ && header_ && pending_.empty(); }

 private:
  [[nodiscard]] std::uint32_t uint_at(std::size_t offset, int bytes) const {
    std::uint32_t value = 0;
    for (int i = 0; i < bytes; ++i)
      value = value << 8 | static_cast<unsigned char>(pending_[offset + i]);
    return value;
  }

  std::string pending_;
  std::vector<std::string_view> fields_;
  bool header_ = false;
  bool ok_ = true;
};

// A binary COPY into a table on a connection, rows written through writer(). Data goes to the
// server in pieces of about kChunk bytes. A COPY that is not finished is aborted when the
// CopyIn goes, and one whose finishing fails is aborted too: nothing of it is kept, and the
// connection is free for the next statement.
class CopyIn {
 public:
  static constexpr std::size_t kChunk = std::size_t{256} << 10;

  explicit CopyIn(PgConnection& conn) : conn_(conn) {}
  ~CopyIn() { abort(); }
  CopyIn(const CopyIn&) = delete;
  CopyIn& operator=(const CopyIn&) = delete;

  // Starts `sql`, a COPY ... FROM STDIN (FORMAT binary).
  [[nodiscard]] Result<void> start(const std::string& sql);
  [[nodiscard]] bool active() const { return active_; }
  [[nodiscard]] CopyWriter& writer() { return writer_; }
  // After each row: sends the buffer once it holds a piece's worth.
  [[nodiscard]] Result<void> row_done() {
    if (writer_.data().size() < kChunk) return {};
    return send();
  }
  // Ends the COPY, the rows kept when it succeeds.
  [[nodiscard]] Result<void> finish();
  // Ends a COPY in progress, keeping nothing of it.
  void abort();

 private:
  [[nodiscard]] Result<void> send();

  PgConnection& conn_;
  CopyWriter writer_;
  bool active_ = false;
};

}  // namespace offpeak
