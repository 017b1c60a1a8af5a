// The benchmarks' JSON writer: numbers (NaN and infinities as null), strings, booleans, arrays
// and objects. loader/'s JsonWriter serves `status -j` and has no floating-point values; the
// benches mostly write those.
#pragma once

#include "text.hpp"

#include <cmath>
#include <string>
#include <vector>

namespace bench {

struct Json {
    std::string s;

    void key(const std::string &k) {
        sep();
        // Appended piece by piece: "\"" + std::string trips GCC 12's false -Wrestrict at -O3.
        s += '"';
        s += esc(k);
        s += "\":";
        pending_ = true; // the value that follows needs no separator
    }
    void str(const std::string &v) {
        val_prefix();
        s += '"';
        s += esc(v);
        s += '"';
    }
    void num(double v) {
        val_prefix();
        if (!std::isfinite(v))
            s += "null";
        else if (v == std::floor(v) && std::fabs(v) < 1e15)
            s += fmt("%.0f", v);
        else
            s += fmt("%.6g", v);
    }
    void boolean(bool v) {
        val_prefix();
        s += v ? "true" : "false";
    }
    void open(char c) {
        val_prefix();
        s += c;
        first_.push_back(true);
    }
    void close(char c) {
        first_.pop_back();
        s += c;
    }
    void kv(const std::string &k, double v) {
        key(k);
        num(v);
    }
    void kv(const std::string &k, const std::string &v) {
        key(k);
        str(v);
    }
    void kv(const std::string &k, const char *v) { kv(k, std::string(v)); }
    void kv(const std::string &k, const std::vector<double> &v) {
        key(k);
        open('[');
        for (double x : v)
            num(x);
        close(']');
    }

    static std::string esc(const std::string &v) {
        std::string o;
        for (char c : v) {
            if (c == '"' || c == '\\')
                o += '\\', o += c;
            else if (c == '\n')
                o += "\\n";
            else if (static_cast<unsigned char>(c) < 0x20)
                o += fmt("\\u%04x", c);
            else
                o += c;
        }
        return o;
    }

  private:
    std::vector<bool> first_{true};
    bool pending_ = false;

    void sep() {
        if (!first_.back())
            s += ",";
        first_.back() = false;
    }
    void val_prefix() {
        if (pending_) {
            pending_ = false;
            first_.back() = false;
        } else {
            sep();
        }
    }
};

} // namespace bench
