vcl 4.1;
# The edge cache in front of the app (scripts/edge). Pages are kept here until
# the app purges their tags (xkey), which it does before a write answers; the
# per-person holes in them are ESI includes, filled per request. BACKEND_PORT
# is put in by scripts/edge.

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
    if (req.method == "PURGE" || req.method == "SOFTPURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Purges are for the app."));
        }
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
    if (req.url ~ "^/events") {
        return (pipe);  # the event stream, unbuffered
    }
    if (req.method != "GET" && req.method != "HEAD") {
        set req.http.x-edge-bypass = "1";
        return (pass);
    }
    if (req.url ~ "^/holes/") {
        if (req.http.Cookie ~ "(^|;\s*)session=") {
            set req.http.x-edge-bypass = "1";
            return (pass);  # a person's part of a page: never kept here
        }
        unset req.http.Cookie;  # nobody's: the same for every visitor
        return (hash);
    }
    # Everything else is the app's to say (xkey: kept; no xkey: not kept). The
    # cookie stays on the request, for the includes, but out of the fetch.
    set req.http.Surrogate-Capability = {"edge="ESI/1.0""};
    return (hash);
}

sub vcl_pipe {
    set bereq.http.Connection = "close";
}

sub vcl_backend_fetch {
    if (bereq.http.Surrogate-Capability) {
        unset bereq.http.Cookie;  # the shared part is nobody's
    }
}

sub vcl_backend_response {
    if (beresp.http.Set-Cookie || !beresp.http.xkey || beresp.status != 200) {
        set beresp.uncacheable = true;
        set beresp.ttl = 0s;
        return (deliver);
    }
    # Kept until purged; a soft purge leaves it servable for the grace
    # while one fetch replaces it.
    set beresp.ttl = 1d;
    set beresp.grace = 10s;
    if (beresp.http.Content-Type ~ "^text/") {
        set beresp.do_gzip = true;  # kept compressed; sent plain to who wants it so
    }
    if (beresp.http.Surrogate-Control ~ "ESI/1.0") {
        set beresp.do_esi = true;
        unset beresp.http.Surrogate-Control;
    }
    # The shared part does not vary by cookie (its holes do, per request).
    set beresp.http.Vary = regsuball(beresp.http.Vary, "(?i)(^|,\s*)Cookie(?=,|$)", "");
    set beresp.http.Vary = regsub(beresp.http.Vary, "^,\s*", "");
    return (deliver);
}

sub vcl_deliver {
    unset resp.http.xkey;
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
