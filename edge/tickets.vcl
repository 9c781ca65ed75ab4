vcl 4.1;
# The edge cache in front of the app (scripts/edge). Pages are kept here until
# the app purges their tags (xkey), which it does before a write answers.
# Each page is kept twice at most: as an anonymous visitor gets it (holes filled by the
# app the way they are for nobody: a plain object, served like a file), and,
# for people (a session cookie), with its per-person holes as ESI includes,
# filled per request: the account by asking the app, each Delete here (kept
# twice: for those who may, and for those who may not). BACKEND_PORT, the
# shared secret EDGE_SECRET_VALUE and the app's host names ALLOWED_HOSTS_PATTERN
# are put in by scripts/edge.
# What this file shares with the app (the hole URLs, the session and viewer
# cookies, the may= protocol, the object split) is named in
# app/edge_contract.py; tests/test_edge_contract.py checks both say the same.

import std;
import xkey;

backend app {
    .host = "127.0.0.1";
    .port = "BACKEND_PORT";
    .first_byte_timeout = 30s;
}

acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    # A Range is for a GET, in bytes: any other is dropped (RFC 9110 lets a
    # server ignore it). Passed on, Varnish checked it against the app's
    # answer and made a malformed one ("Range: false" on a POST) a 503.
    if (req.http.Range && (req.method != "GET" || req.http.Range !~ "^bytes=[0-9, -]+$")) {
        unset req.http.Range;
    }
    # Edge control (purges, the inspector's probes) is the app's alone: from
    # loopback, to one of its host names, with its shared secret.
    if (req.method == "PURGE" || req.method == "SOFTPURGE" || req.http.x-edge-probe) {
        if (client.ip !~ purgers || req.http.x-edge-secret != "EDGE_SECRET_VALUE" ||
            req.http.host !~ "^(ALLOWED_HOSTS_PATTERN)(:[0-9]+)?$") {
            return (synth(403, "Edge control is for the app."));
        }
    }
    unset req.http.x-edge-secret;  # never passed on, nor kept in a log
    if (req.method == "PURGE" || req.method == "SOFTPURGE") {
        if (req.http.xkey-purge == "*") {  # everything: a new build of the app
            ban("obj.status != 0");
            return (synth(200, "Banned everything"));
        }
        if (req.method == "PURGE") {
            set req.http.n-gone = xkey.purge(req.http.xkey-purge);
        } else {
            set req.http.n-gone = xkey.softpurge(req.http.xkey-purge);
        }
        return (synth(200, "Purged " + req.http.n-gone));
    }
    unset req.http.Surrogate-Capability;  # only this edge says it fills holes
    call read_your_writes_recv;
    # The app keeps each page compressed both ways, and plain: one object per
    # coding here too (Vary: Accept-Encoding), none compressed or unpacked per request.
    if (req.http.Accept-Encoding ~ "\bbr\b") {
        set req.http.Accept-Encoding = "br";
    } elsif (req.http.Accept-Encoding ~ "\bgzip\b") {
        set req.http.Accept-Encoding = "gzip";
    } else {
        unset req.http.Accept-Encoding;
    }
    if (req.http.x-edge-probe) {
        # The app's cache inspector asks what is kept here for a URL, as a
        # visitor or a person gets it: looked up, never fetched.
        if (req.http.x-edge-probe !~ "^(anonymous|person)$") {
            return (synth(403, "Probes are for the app."));
        }
        set req.http.x-edge-who = req.http.x-edge-probe;
        set req.hash_ignore_busy = true;
        return (hash);
    }
    if (req.url ~ "^/events") {
        return (pipe);  # the event stream, unbuffered
    }
    if (req.method == "GET" || req.method == "HEAD") {
        # What the app reads to choose a variant (app/htmx.py variant_of),
        # folded into one header before the lookup, so that the key and the
        # app agree on it: HX-Request "true" (exactly; repeated headers are
        # joined first, so "true, false" is not) asks for the partial, unless
        # it is a history restore, which wants the page. The app then sees one
        # HX-Request or none, and no restore header: it cannot choose other
        # than the key says.
        std.collect(req.http.HX-Request);
        std.collect(req.http.HX-History-Restore-Request);
        if (req.http.HX-Request == "true" && req.http.HX-History-Restore-Request != "true") {
            set req.http.HX-Request = "true";
        } else {
            unset req.http.HX-Request;
        }
        unset req.http.HX-History-Restore-Request;
    }
    if (req.method != "GET" && req.method != "HEAD" || req.url ~ "^/admin/" ||
        req.url ~ "^/account(\?|$)" || req.url ~ "^/tickets\?(.*&)?assignee=me(&|$)") {
        # Writes, the admin's pages, a person's account page, and "assigned
        # to me" (which the app sends on to the person's own list): each
        # theirs alone, and each needs the session: passed to the app as
        # they came, cookies and all.
        set req.http.x-edge-bypass = "1";
        # None of these answers is served in parts; passed on, a Range that
        # reads well but is not satisfiable ("bytes=0-0,5-1") made the app's
        # answer a 503 from Varnish.
        unset req.http.Range;
        return (pass);
    }
    if (req.esi_level > 0 && req.url ~ "^/holes/tickets/" &&
        req.http.Cookie ~ "(^|;\s*)viewer=[^;]") {
        # A person's Delete of one ticket, decided here by the edge
        # contract's may_delete (app/edge_contract.py): the viewer cookie
        # against the src's last segment, its author. The cookie is no secret
        # and proves nothing: it picks which of two answers, each the same for
        # everyone, to show; the app checks every delete against the session.
        # Without it (a session older than the cookie), the app decides, as
        # for the account hole.
        set req.http.x-viewer = regsub(req.http.Cookie, "^(.*;\s*)?viewer=([^;]*).*$", "\2");
        if (req.http.x-viewer == "admin" || req.http.x-viewer == regsub(req.url, "^.*/", "")) {
            set req.url = req.url + "?may=1";
        } else {
            set req.url = req.url + "?may=0";
        }
        unset req.http.x-viewer;
        unset req.http.Cookie;
        return (hash);
    }
    if (req.url ~ "^/holes/") {
        if (req.http.Cookie ~ "(^|;\s*)session=") {
            set req.http.x-edge-bypass = "1";
            return (pass);  # a person's part of a page: never kept here
        }
        unset req.http.Cookie;  # nobody's: the same for every visitor
        return (hash);
    }
    # Everything else is the app's to say (xkey: kept; no xkey: not kept).
    # A person's cookie stays on the request, for the includes, but out of
    # the fetch; a visitor's page has no includes.
    if (req.http.Cookie ~ "(^|;\s*)session=") {
        set req.http.x-edge-who = "person";
        set req.http.Surrogate-Capability = {"edge="ESI/1.0""};
    } else {
        set req.http.x-edge-who = "anonymous";
        set req.http.Surrogate-Capability = {"edge="tags""};
    }
    return (hash);
}

sub vcl_hash {
    hash_data(req.url);
    hash_data(req.http.host);
    hash_data(req.http.x-edge-who);  # a visitor's object, or the one with includes (EDGE_OBJECTS)
    return (lookup);
}

sub vcl_hit {
    if (req.http.x-edge-probe) {
        set req.http.x-probe-age = obj.age;
        set req.http.x-probe-ttl = obj.ttl;  # below 0: stale, served for its grace
        set req.http.x-probe-hits = obj.hits - 1;  # this lookup counts as one
        set req.http.x-probe-keys = obj.http.xkey;
        return (synth(200, "Kept"));
    }
    call read_your_writes_hit;
}

sub vcl_miss {
    if (req.http.x-edge-probe) {
        return (synth(404, "Not kept"));
    }
}

sub vcl_pass {
    if (req.http.x-edge-probe) {
        return (synth(404, "Not kept"));  # an answer it may not keep (hit-for-miss)
    }
}

sub vcl_synth {
    # The edge's own answers hold no script: nothing runs, nothing frames them.
    set resp.http.Content-Security-Policy = "default-src 'none'; frame-ancestors 'self'";
    set resp.http.X-Content-Type-Options = "nosniff";
    set resp.http.X-Frame-Options = "SAMEORIGIN";
    if (req.http.x-probe-age) {
        set resp.http.x-edge-age = req.http.x-probe-age;
        set resp.http.x-edge-ttl = req.http.x-probe-ttl;
        set resp.http.x-edge-hits = req.http.x-probe-hits;
        set resp.http.x-edge-keys = req.http.x-probe-keys;
    }
}

sub vcl_backend_error {
    # The page Varnish makes when the app cannot be reached: as vcl_synth's.
    set beresp.http.Content-Security-Policy = "default-src 'none'; frame-ancestors 'self'";
    set beresp.http.X-Content-Type-Options = "nosniff";
    set beresp.http.X-Frame-Options = "SAMEORIGIN";
}

sub vcl_pipe {
    set bereq.http.Connection = "close";
    set bereq.http.x-edge-secret = "EDGE_SECRET_VALUE";
}

sub vcl_backend_fetch {
    # Our mark, which only the app knows too (put in by scripts/edge): the app
    # believes the X-Forwarded-For that Varnish appends to, from us alone.
    set bereq.http.x-edge-secret = "EDGE_SECRET_VALUE";
    if (bereq.http.Surrogate-Capability) {
        unset bereq.http.Cookie;  # the shared part is nobody's
    }
}

sub vcl_backend_response {
    # Holes are filled here whatever becomes of the answer, kept or not: a
    # person never sees raw ESI includes (a 404 page, a form, a page the
    # app rendered without its store).
    if (beresp.http.Surrogate-Control ~ "ESI/1.0") {
        set beresp.do_esi = true;
        unset beresp.http.Surrogate-Control;
    }
    if (beresp.http.Set-Cookie || !beresp.http.xkey || beresp.status != 200) {
        set beresp.uncacheable = true;
        set beresp.ttl = 0s;
        return (deliver);
    }
    # Kept until purged; a soft purge leaves it servable for the grace
    # while one fetch replaces it.
    set beresp.ttl = 1d;
    set beresp.grace = 10s;
    # The shared part does not vary by cookie (its holes do, per request).
    set beresp.http.Vary = regsuball(beresp.http.Vary, "(?i)(^|,\s*)Cookie(?=,|$)", "");
    set beresp.http.Vary = regsub(beresp.http.Vary, "^,\s*", "");
    return (deliver);
}

sub vcl_deliver {
    unset resp.http.xkey;
    unset resp.http.x-cache-clock;  # the edge's to compare (read your own writes)
    if (req.esi_level > 0) {
        return (deliver);
    }
    if (obj.hits > 0) {
        set req.http.x-edge = "edge; hit";
    } elsif (req.http.x-edge-bypass) {
        set req.http.x-edge = "edge; fwd=bypass";
    } else {
        set req.http.x-edge = "edge; fwd=miss";
    }
    if (resp.http.Cache-Status) {
        set resp.http.Cache-Status = resp.http.Cache-Status + ", " + req.http.x-edge;
    } else {
        set resp.http.Cache-Status = req.http.x-edge;
    }
    unset resp.http.Via;
    unset resp.http.X-Varnish;
}

# -- Read your own writes ------------------------------------------------------
# A write's answer sets the cookie cache-read-after: the app's store clock
# after the write's bump. Every answer the app gives this edge says, in
# x-cache-clock, a clock every bump up to which it reflects. An object older
# than the person's cache-read-after may predate their write (a fetch that
# straddled it, a purge that did not arrive): it is not served to them; it
# is fetched again, and the new object replaces it for everyone. The fetch
# hands the clock on in x-cache-read-after (fetches carry no cookie): the app
# answers once it has heard of that write, or renders without its caches.

sub read_your_writes_recv {
    if (req.restarts == 0) {
        unset req.http.x-cache-read-after;  # only this edge says it
        unset req.http.x-edge-refetch;
    }
    if (req.http.Cookie ~ "(^|;\s*)cache-read-after=[0-9]{1,18}(;|$)") {
        set req.http.x-cache-read-after = regsub(req.http.Cookie,
            "^(.*;\s*)?cache-read-after=([0-9]+).*$", "\2");
    }
    if (req.http.x-edge-refetch) {
        set req.hash_always_miss = true;  # fetched, and kept in the old one's place
    }
}

sub read_your_writes_hit {
    if (req.esi_level == 0 && req.http.x-cache-read-after && !req.http.x-edge-refetch) {
        # A clock counts microseconds: 16 digits, past what VCL's integers
        # hold (15). Each is compared as two numbers: its digits before its
        # last 8, then those. An object without a clock is older than any.
        set req.http.x-ryw-object-high = std.integer(
            regsub(obj.http.x-cache-clock, "^(\d*?)\d{0,8}$", "\1"), 0);
        set req.http.x-ryw-object-low = std.integer(
            regsub(obj.http.x-cache-clock, "^\d*?(\d{0,8})$", "\1"), 0);
        set req.http.x-ryw-token-high = std.integer(
            regsub(req.http.x-cache-read-after, "^(\d*?)\d{0,8}$", "\1"), 0);
        set req.http.x-ryw-token-low = std.integer(
            regsub(req.http.x-cache-read-after, "^\d*?(\d{0,8})$", "\1"), 0);
        if (std.integer(req.http.x-ryw-object-high, 0) < std.integer(req.http.x-ryw-token-high, 0) ||
            (req.http.x-ryw-object-high == req.http.x-ryw-token-high &&
             std.integer(req.http.x-ryw-object-low, 0) < std.integer(req.http.x-ryw-token-low, 0))) {
            set req.http.x-edge-refetch = "1";
        }
        unset req.http.x-ryw-object-high;
        unset req.http.x-ryw-object-low;
        unset req.http.x-ryw-token-high;
        unset req.http.x-ryw-token-low;
        if (req.http.x-edge-refetch) {
            return (restart);  # older than the person's last write
        }
    }
}
