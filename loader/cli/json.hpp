// A minimal streaming JSON writer: objects, arrays, strings, integers, booleans (`status -j` and
// the other `-j` outputs) and measurements (the benchmarks' floating-point figures), compact
// single-line output like `bpftool -j`. Hand-written to avoid a dependency for ~100 lines;
// escaping follows RFC 8259 (control characters as \u00XX, UTF-8 passed through).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace sipalg {

class JsonWriter {
  public:
    JsonWriter &begin_object() { return open('{'); }
    JsonWriter &end_object() { return close('}'); }
    JsonWriter &begin_array() { return open('['); }
    JsonWriter &end_array() { return close(']'); }

    JsonWriter &key(std::string_view k) {
        separate();
        write_string(k);
        out_ += ':';
        after_key_ = true;
        return *this;
    }

    JsonWriter &value(std::string_view v) {
        separate();
        write_string(v);
        return *this;
    }
    JsonWriter &value(const char *v) { return value(std::string_view(v)); }
    JsonWriter &value(bool v) {
        separate();
        out_ += v ? "true" : "false";
        return *this;
    }
    JsonWriter &value(std::uint64_t v) {
        separate();
        out_ += std::to_string(v);
        return *this;
    }
    JsonWriter &value(std::uint32_t v) { return value(static_cast<std::uint64_t>(v)); }
    JsonWriter &value(std::int64_t v) {
        separate();
        out_ += std::to_string(v);
        return *this;
    }
    JsonWriter &value(int v) { return value(static_cast<std::int64_t>(v)); }
    // A measurement: a whole number (below 1e15) without a fraction, anything else with 6
    // significant digits; NaN and infinities, which JSON has no spelling for, as null.
    JsonWriter &value(double v) {
        if (!std::isfinite(v))
            return null();
        separate();
        char buf[32];
        if (v == std::floor(v) && std::fabs(v) < 1e15)
            std::snprintf(buf, sizeof(buf), "%.0f", v);
        else
            std::snprintf(buf, sizeof(buf), "%.6g", v);
        out_ += buf;
        return *this;
    }
    template <typename T>
    JsonWriter &value(const std::vector<T> &v) {
        begin_array();
        for (const T &x : v)
            value(x);
        return end_array();
    }
    JsonWriter &null() {
        separate();
        out_ += "null";
        return *this;
    }

    template <typename T>
    JsonWriter &field(std::string_view k, const T &v) {
        key(k);
        return value(v);
    }

    const std::string &str() const { return out_; }

  private:
    JsonWriter &open(char c) {
        separate();
        out_ += c;
        first_.push_back(true);
        return *this;
    }
    JsonWriter &close(char c) {
        out_ += c;
        if (!first_.empty())
            first_.pop_back();
        return *this;
    }
    // Emits the ',' between members/elements; a value right after its key needs none.
    void separate() {
        if (after_key_) {
            after_key_ = false;
            return;
        }
        if (first_.empty())
            return;
        if (!first_.back())
            out_ += ',';
        first_.back() = false;
    }
    void write_string(std::string_view s) {
        out_ += '"';
        for (char ch : s) {
            const auto c = static_cast<unsigned char>(ch);
            switch (c) {
            case '"':
                out_ += "\\\"";
                break;
            case '\\':
                out_ += "\\\\";
                break;
            case '\n':
                out_ += "\\n";
                break;
            case '\r':
                out_ += "\\r";
                break;
            case '\t':
                out_ += "\\t";
                break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof(buf), "\\u%04x", c);
                    out_ += buf;
                } else {
                    out_ += ch;
                }
            }
        }
        out_ += '"';
    }

    std::string out_;
    std::vector<bool> first_;
    bool after_key_ = false;
};

} // namespace sipalg
