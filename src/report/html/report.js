/* keyleak HTML report: filters, search and sorting over the findings
   table, which is complete without this script. Inlined by
   src/report/html.c and allowed by hash in the page's CSP. Nothing runs
   per row on load: filtering reads each row's data-* attributes when a
   control changes, search text is gathered on the first search. */
(function () {
	'use strict';
	var body = document.getElementById('ftb');
	var form = document.getElementById('controls');
	if (!body || !form) {
		return;
	}
	var table = document.getElementById('ft');
	var shown = document.getElementById('shown');
	var search = document.getElementById('q');
	var rows = null;
	var texts = null;
	var want = { sev: '', p: '', v: '', h: '', r: '', q: '' };
	var timer = 0;

	function allRows() {
		if (!rows) {
			rows = Array.prototype.slice.call(body.rows);
		}
		return rows;
	}

	function apply() {
		var rs = allRows();
		var n = 0;
		var i, r, d, ok;
		if (want.q && !texts) {
			texts = rs.map(function (row) {
				return row.textContent.toLowerCase();
			});
		}
		for (i = 0; i < rs.length; i++) {
			r = rs[i];
			d = r.dataset;
			ok = (!want.sev || d.sev === want.sev) &&
				(!want.p || d.p === want.p) &&
				(!want.v || d.v === want.v) &&
				(!want.h || d.h === want.h) &&
				(!want.r || d.r === want.r) &&
				(!want.q || texts[i].indexOf(want.q) >= 0);
			if (r.hidden === ok) {
				r.hidden = !ok;
			}
			if (ok) {
				n++;
			}
		}
		shown.textContent = n + ' of ' + rs.length + ' shown';
	}

	function setFilter(key, value) {
		var sel = form.querySelector('[data-filter="' + key + '"]');
		if (sel) {
			sel.value = value;
		}
		want[key] = value;
		apply();
	}

	form.addEventListener('change', function (e) {
		var key = e.target.getAttribute('data-filter');
		if (key) {
			want[key] = e.target.value;
			apply();
		}
	});
	form.addEventListener('submit', function (e) {
		e.preventDefault();
	});
	search.addEventListener('input', function () {
		clearTimeout(timer);
		timer = setTimeout(function () {
			want.q = search.value.trim().toLowerCase();
			apply();
		}, 120);
	});

	/* Sort by a column: a cell's data-k (numbers) or its text. */
	function sortBy(th) {
		var col = th.cellIndex;
		var numeric = th.getAttribute('data-sort') === 'num';
		var cur = th.getAttribute('aria-sort');
		var dir = cur === 'none' ? (numeric ? -1 : 1) : cur === 'ascending' ? -1 : 1;
		var rs = allRows();
		var keyed = rs.map(function (r, i) {
			var cell = r.cells[col];
			var k = cell.getAttribute('data-k');
			return {
				r: r, i: i,
				k: numeric ? Number(k) : (k !== null ? k : cell.textContent).toLowerCase()
			};
		});
		keyed.sort(function (a, b) {
			if (a.k < b.k) {
				return -dir;
			}
			if (a.k > b.k) {
				return dir;
			}
			return a.i - b.i;
		});
		var frag = document.createDocumentFragment();
		rows = keyed.map(function (x) {
			frag.appendChild(x.r);
			return x.r;
		});
		if (texts) {
			texts = keyed.map(function (x) {
				return texts[x.i];
			});
		}
		body.appendChild(frag);
		Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) {
			if (c.hasAttribute('aria-sort')) {
				c.setAttribute('aria-sort', 'none');
			}
		});
		th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
	}

	table.tHead.addEventListener('click', function (e) {
		var th = e.target.closest('th[data-sort]');
		if (th) {
			sortBy(th);
		}
	});

	/* The repositories table's counts narrow the findings to one. */
	document.addEventListener('click', function (e) {
		var a = e.target.closest('a[data-repo]');
		if (a) {
			setFilter('r', a.getAttribute('data-repo'));
		}
	});

	form.hidden = false;
	shown.textContent = body.rows.length + ' of ' + body.rows.length + ' shown';
}());
