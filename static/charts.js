// The cache's charts on its admin page (templates/admin/_figures.html):
// polls the figures (JSON) every few seconds while the section is on the
// page, draws them with uPlot (static/vendor, loaded on first use) and fills
// each chart's table, its text alternative. Loaded again by a boosted
// navigation back to the page: it then only looks for new sections.
(() => {
  "use strict";
  const EVERY_MS = 5000;
  const HEIGHT = 180;
  const COLOURS = ["#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c", "#0e7490", "#4d7c0f"];

  if (window.cacheCharts) {
    window.cacheCharts.scan();
    return;
  }

  const loadUplot = (src) =>
    window.uPlot
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
          const script = document.createElement("script");
          script.src = src;
          script.onload = resolve;
          script.onerror = reject;
          document.head.append(script);
        });

  const cell = (text, header) => {
    const element = document.createElement(header ? "th" : "td");
    if (header) element.scope = "row";
    element.textContent = text;
    return element;
  };
  const fill = (section, name, rows) => {
    const body = section.querySelector(`[data-table="${name}"]`);
    body.replaceChildren(
      ...rows.map((row) => {
        const tr = document.createElement("tr");
        tr.append(...row.map((text, at) => cell(String(text), at === 0 && row.length > 1)));
        return tr;
      }),
    );
  };
  const percent = (part, whole) => (whole ? `${((100 * part) / whole).toFixed(1)} %` : "none");
  const size = (bytes) =>
    bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`;
  const limit = (seconds) => (seconds < 1 ? `≤ ${seconds * 1000} ms` : `≤ ${seconds} s`);

  const tables = (section, figures) => {
    const hour = figures.hour;
    fill(
      section,
      "hits",
      Object.keys(hour.hits).map((route) => {
        const hits = hour.hits[route];
        const misses = hour.misses[route];
        return [route, hits, misses, percent(hits, hits + misses)];
      }),
    );
    fill(section, "renders", [
      [hour.renders, hour.invalidations, hour.invalidations ? (hour.renders / hour.invalidations).toFixed(2) : "none"],
    ]);
    const consistent = figures.consistent;
    const labels = [...consistent.le.map(limit), "longer"];
    const headRow = document.createElement("tr");
    headRow.append(
      ...["Took", ...consistent.stages.map((stage) => `to ${stage}`)].map((text) => {
        const th = document.createElement("th");
        th.scope = "col";
        th.textContent = text;
        return th;
      }),
    );
    section.querySelector('[data-table="consistent-head"]').replaceChildren(headRow);
    fill(
      section,
      "consistent",
      labels.map((label, at) => [label, ...consistent.stages.map((stage) => consistent.buckets[stage][at])]),
    );
    const bytes = figures.bytes.length ? figures.bytes[figures.bytes.length - 1] : 0;
    fill(section, "bytes", [[size(bytes), figures.bound ? size(figures.bound) : "none known", percent(bytes, figures.bound)]]);
    fill(section, "most_invalidated", figures.most_invalidated);
    fill(section, "most_rendered", figures.most_rendered);
  };

  const lastHour = (plot) => {
    const at = plot.data[0];
    const last = at.length ? at[at.length - 1] : Date.now() / 1000;
    return [last - 3600, last];
  };
  const lines = (names) => [{}, ...names.map((label, at) => ({ label, stroke: COLOURS[at % COLOURS.length], width: 2, spanGaps: true }))];

  const chartData = (figures) => {
    const routes = Object.keys(figures.hit_ratio);
    const stages = figures.consistent.stages;
    const le = figures.consistent.le;
    return {
      hit_ratio: {
        series: lines(routes),
        data: [figures.at, ...routes.map((route) => figures.hit_ratio[route])],
        scales: { y: { range: [0, 1] } },
      },
      renders_per_invalidation: {
        series: lines(["renders per invalidation"]),
        data: [figures.at, figures.renders_per_invalidation],
      },
      bytes: {
        series: lines(["bytes held", "bound"]),
        data: [figures.at, figures.bytes, figures.at.map(() => figures.bound || null)],
        scales: { y: { range: [0, Math.max(figures.bound, ...figures.bytes, 1) * 1.05] } },
        axes: [{}, { size: 70, values: (_, ticks) => ticks.map(size) }],
      },
      consistent: {
        series: [{}, ...stages.map((label, at) => ({
          label, stroke: COLOURS[at], fill: COLOURS[at] + "66", paths: window.uPlot.paths.bars({ size: [0.25, 40], align: at - 1 }),
        }))],
        data: [[...le.keys(), le.length], ...stages.map((stage) => figures.consistent.buckets[stage])],
        scales: { x: { time: false } },
        axes: [{ values: (_, ticks) => ticks.map((tick) => (Number.isInteger(tick) ? (le[tick] ? limit(le[tick]) : "longer") : "")) }, {}],
      },
    };
  };

  const draw = (section, charts, figures) => {
    const made = chartData(figures);
    for (const [name, chart] of Object.entries(made)) {
      const box = section.querySelector(`[data-chart="${name}"]`);
      const shape = chart.series.map((series) => series.label).join("|");
      const kept = charts.get(name);
      if (kept && kept.shape === shape) {
        kept.plot.setData(chart.data);
        continue;
      }
      if (kept) kept.plot.destroy();
      const options = {
        width: Math.max(box.clientWidth, 240),
        height: HEIGHT,
        legend: { show: false }, // the table below says it in words
        series: chart.series,
        // The last hour, whatever the samples cover so far.
        scales: { x: { time: true, range: lastHour }, ...(chart.scales || {}) },
        ...(chart.axes ? { axes: chart.axes } : {}),
      };
      charts.set(name, { shape, plot: new window.uPlot(options, chart.data, box) });
    }
  };

  const watch = (section) => {
    section.dataset.watched = "";
    const status = section.querySelector("[data-figures-status]");
    const charts = new Map();
    const poll = async () => {
      if (!section.isConnected) return; // navigated away
      try {
        const answer = await fetch(section.dataset.figures, { headers: { Accept: "application/json" } });
        if (!answer.ok) throw new Error(`the figures answered ${answer.status}`);
        const figures = await answer.json();
        tables(section, figures);
        draw(section, charts, figures);
        section.dataset.samples = String(figures.at.length);
        const from = figures.scope === "cluster" ? ` from ${figures.processes} processes` : "";
        status.textContent = `Updated at ${new Date().toLocaleTimeString()}${from}; every ${EVERY_MS / 1000} s.`;
      } catch (error) {
        status.textContent = `The figures could not be read (${error.message}); trying again.`;
      }
      setTimeout(poll, EVERY_MS);
    };
    loadUplot(section.dataset.uplot).then(poll, () => {
      status.textContent = "The charting library could not be loaded.";
    });
  };

  const scan = () => document.querySelectorAll("[data-figures]:not([data-watched])").forEach(watch);
  window.cacheCharts = { scan };
  scan();
})();
