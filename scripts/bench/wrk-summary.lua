-- wrk prints this one JSON line after its human summary, so bench.py reads exact figures, not rounded text.
done = function(summary, latency, requests)
    local errors = summary.errors
    io.write(string.format(
        'BENCH-JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
        '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
        summary.requests, summary.duration, summary.bytes, errors.connect, errors.read, errors.write,
        errors.status, errors.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
