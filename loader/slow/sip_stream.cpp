#include "slow/sip_stream.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace sipalg::slow {

namespace {

bool name_is(const std::uint8_t *p, std::size_t n, const char *name) {
    const std::size_t k = std::strlen(name);
    if (n != k)
        return false;
    for (std::size_t i = 0; i < n; i++)
        if (std::tolower(p[i]) != name[i])
            return false;
    return true;
}

bool is_ws(std::uint8_t c) {
    return c == ' ' || c == '\t';
}

} // namespace

long sip_content_length(const std::uint8_t *h, std::size_t len) {
    long found = -1;
    std::size_t i = 0;
    while (i < len) {
        std::size_t eol = i;
        while (eol < len && h[eol] != '\n')
            eol++;
        std::size_t end = eol;
        if (end > i && h[end - 1] == '\r')
            end--;
        // Field name, optional whitespace, ':' (the start line has no ':' right after a token).
        std::size_t n = i;
        while (n < end && h[n] != ':' && !is_ws(h[n]))
            n++;
        std::size_t c = n;
        while (c < end && is_ws(h[c]))
            c++;
        if (c < end && h[c] == ':' &&
            (name_is(h + i, n - i, "content-length") || name_is(h + i, n - i, "l"))) {
            std::size_t v = c + 1;
            while (v < end && is_ws(h[v]))
                v++;
            long value = 0;
            std::size_t digits = 0;
            while (v < end && std::isdigit(h[v]) && digits < 9) {
                value = value * 10 + (h[v] - '0');
                v++;
                digits++;
            }
            while (v < end && is_ws(h[v]))
                v++;
            if (!digits || v != end)
                return -2;
            if (found >= 0 && found != value)
                return -2;
            found = value;
        }
        i = eol + 1;
    }
    return found;
}

void SipStream::feed(const std::uint8_t *data, std::size_t len) {
    if (!broken_.empty())
        return;
    // Compact now and then, so a long-lived connection does not grow the buffer.
    if (pos_ > 0 && pos_ >= buf_.size() / 2) {
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<long>(pos_));
        pos_ = 0;
    }
    buf_.insert(buf_.end(), data, data + len);
}

bool SipStream::broken(Piece *out, std::string why) {
    if (broken_.empty())
        broken_ = std::move(why);
    out->kind = Kind::Broken;
    out->bytes.clear();
    out->why = broken_;
    return true;
}

bool SipStream::next(Piece *out) {
    if (!broken_.empty())
        return broken(out, broken_);
    const std::uint8_t *p = buf_.data() + pos_;
    const std::size_t n = buf_.size() - pos_;
    if (!n)
        return false;
    std::size_t crlf = 0;
    while (crlf < n && (p[crlf] == '\r' || p[crlf] == '\n'))
        crlf++;
    if (crlf) {
        out->kind = Kind::Keepalive;
        out->bytes.assign(p, p + crlf);
        out->why.clear();
        consumed(crlf);
        return true;
    }
    static const std::uint8_t kBlank[] = {'\r', '\n', '\r', '\n'};
    const std::uint8_t *blank = std::search(p, p + n, kBlank, kBlank + 4);
    if (blank == p + n) {
        if (n > max_)
            return broken(out, "no end of headers within " + std::to_string(max_) + " bytes");
        return false;
    }
    const auto head = static_cast<std::size_t>(blank - p) + 4;
    const long body = sip_content_length(p, head - 2);
    if (body == -1)
        return broken(out, "a message without Content-Length (required on TCP, RFC 3261 18.3)");
    if (body < 0)
        return broken(out, "a malformed Content-Length");
    const std::size_t total = head + static_cast<std::size_t>(body);
    if (total > max_)
        return broken(out, "a message of " + std::to_string(total) + " bytes, over " +
                                   std::to_string(max_));
    if (n < total)
        return false;
    out->kind = Kind::Message;
    out->bytes.assign(p, p + total);
    out->why.clear();
    consumed(total);
    return true;
}

void SipStream::consumed(std::size_t n) {
    pos_ += n;
    // All taken: the memory of a large message is not kept for the rest of a quiet
    // connection (a proxy holding many would pay it for each).
    if (pos_ == buf_.size()) {
        buf_.clear();
        pos_ = 0;
        if (buf_.capacity() > 4096)
            buf_.shrink_to_fit();
    }
}

} // namespace sipalg::slow
