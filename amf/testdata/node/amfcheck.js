#!/usr/bin/env node
// amfcheck: an independent AMF3 and AMF0 encoder/decoder for the Go tests of package amf,
// built on npm packages (amf3-ts, amfjs, @astronautlabs/amf). See README.md for
// the tagged-JSON contract, which package is used for what, and every known bug.
//
//   node amfcheck.js [--lib auto|amf3-ts|amfjs|astronautlabs] [--raw] [--explain] [--pairs] encode|decode|encode0|decode0|selftest
//
// encode: stdin JSON array of tagged values -> stdout JSON array of lowercase hex
//         strings (or {"error": "..."} for a value that cannot be produced).
// decode: stdin JSON array of hex strings -> stdout JSON array of tagged values
//         (or {"t":"error","v":"..."}).
// encode0, decode0: the same in AMF 0 (amfjs; @astronautlabs/amf for XML only).
// Every value is encoded/decoded on its own, with fresh reference tables.
'use strict';

// ---------------------------------------------------------------------------
// options

let RAW = false;      // --raw: skip the known-bug guards, show what the package does
let EXPLAIN = false;  // --explain: tell on stderr which package produced each answer
let PAIRS = false;    // --pairs: print "assoc" and "dynamic" as [[key, value], ...] lists

class Refused extends Error {}     // a known package bug/limitation: skipped by --raw
class Unsupported extends Error {} // the package has no way to do it at all
class Invalid extends Error {}     // the input breaks the tagged-JSON contract or the AMF3 spec

function refuse(lib, msg) {
	if (!RAW) throw new Refused(`${lib}: ${msg}`);
}
function unsupported(lib, msg) {
	throw new Unsupported(`${lib}: ${msg}`);
}

// ---------------------------------------------------------------------------
// numbers, hex, small helpers

const U29_MIN = -0x10000000; // AMF3 integer range: 29-bit two's complement
const U29_MAX = 0x0fffffff;

function num(v, what) {
	if (typeof v === 'number') return v;
	switch (v) {
	case 'NaN': return NaN;
	case 'Infinity': return Infinity;
	case '-Infinity': return -Infinity;
	case '-0': return -0;
	}
	throw new Invalid(`${what || 'value'}: not a number: ${JSON.stringify(v)}`);
}

function fmt(n) {
	if (Number.isNaN(n)) return 'NaN';
	if (n === Infinity) return 'Infinity';
	if (n === -Infinity) return '-Infinity';
	if (Object.is(n, -0)) return '-0';
	return n;
}

function intv(v) {
	const n = num(v, 'int');
	if (!Number.isInteger(n) || Object.is(n, -0)) throw new Invalid(`int: not an integer: ${JSON.stringify(v)}`);
	if (n < U29_MIN || n > U29_MAX) {
		throw new Invalid(`int ${n} is outside the AMF3 integer range [-2^28, 2^28-1]; it can only be a double`);
	}
	return n;
}

function str(v, what) {
	if (typeof v !== 'string') throw new Invalid(`${what || 'string'}: not a string: ${JSON.stringify(v)}`);
	return v;
}

function hexbuf(h) {
	if (typeof h !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(h)) throw new Invalid(`not a hex string: ${JSON.stringify(h)}`);
	return Buffer.from(h, 'hex');
}

function hex(bytes) {
	return Buffer.from(bytes).toString('hex');
}

function arr(v, what) {
	if (v === undefined) return [];
	if (!Array.isArray(v)) throw new Invalid(`${what}: not an array`);
	return v;
}

// "assoc" and "dynamic" may be {"key": value} or [["key", value], ...] (the list keeps the
// order of integer-like keys, which JSON.parse puts first).
function entries(v, what) {
	if (v === undefined) return [];
	if (Array.isArray(v)) return pairs(v, what);
	if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Invalid(`${what}: not an object`);
	return Object.entries(v);
}

function pairs(v, what) {
	return arr(v, what).map((p) => {
		if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'string') throw new Invalid(`${what}: expected [name, value] pairs`);
		return p;
	});
}

function vecInt(v, lo, hi, what) {
	return arr(v, what).map((x) => {
		if (!Number.isInteger(x) || x < lo || x > hi) throw new Invalid(`${what}: element ${JSON.stringify(x)} is not an integer in [${lo}, ${hi}]`);
		return x;
	});
}

// Reads an AMF3 U29 at data[pos] (data: Buffer or array of bytes). Returns [value, length].
// Used only to peek at headers for the known-bug guards, never to decode values.
function peekU29(data, pos) {
	let v = 0;
	for (let i = 0; i < 4; i++) {
		if (pos + i >= data.length) return [-1, 0];
		const b = data[pos + i] & 0xff;
		if (i === 3) return [((v << 8) | b) >>> 0, 4];
		v = (v << 7) | (b & 0x7f);
		if (!(b & 0x80)) return [v, i + 1];
	}
	return [-1, 0];
}

function isIndexKey(k) {
	return String(Number(k) >>> 0) === k && Number(k) !== 4294967295;
}

function defineOwn(obj, k, v) {
	Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function mapOut(list) {
	if (PAIRS) return list;
	const o = {};
	for (const [k, v] of list) defineOwn(o, k, v);
	return o;
}

function sameOrder(got, want) {
	return got.length === want.length && got.every((k, i) => k === want[i]);
}

function register(ctx, t, native) {
	if (t.id === undefined) return;
	if (typeof t.id !== 'string' && typeof t.id !== 'number') throw new Invalid('id: must be a string or number');
	if (ctx.ids.has(String(t.id))) throw new Invalid(`id ${JSON.stringify(t.id)} used twice`);
	ctx.ids.set(String(t.id), native);
}

function lookup(ctx, t) {
	const id = String(t.id);
	if (!ctx.ids.has(id)) throw new Invalid(`ref to unknown id ${JSON.stringify(t.id)} (a ref must come after the value with that id, or inside it)`);
	return ctx.ids.get(id);
}

function checkTag(t) {
	if (t === null || typeof t !== 'object' || Array.isArray(t) || typeof t.t !== 'string') {
		throw new Invalid(`not a tagged value: ${JSON.stringify(t)}`);
	}
}

function checkKey(k, what) {
	if (k === '') throw new Invalid(`${what}: the empty string cannot be a key (AMF3 uses it as the end marker)`);
}

// ---------------------------------------------------------------------------
// decoded-value wrappers: the decoders are hooked so that integers, doubles,
// null and undefined come back as these, which keeps int apart from double and
// stops amf3-ts from dropping null/undefined array elements.

class Num {
	constructor(kind, v) { this.kind = kind; this.v = v; }
	toJSON() { return { __amf: this.kind, v: fmt(this.v) }; }
}
class Nil {
	constructor(kind) { this.kind = kind; }
	toJSON() { return { __amf: this.kind }; }
}

function leafTag(v) {
	if (v !== null && typeof v === 'object') {
		const p = Object.getPrototypeOf(v);
		if (p === Num.prototype) return { t: v.kind, v: fmt(v.v) };
		if (p === Nil.prototype) return { t: v.kind };
	}
	if (typeof v === 'string') return { t: 'string', v };
	if (typeof v === 'boolean') return { t: 'bool', v };
	return null;
}

// Converts a decoded JS graph to tagged JSON. describe(v, conv) returns the tag of
// one non-leaf value, calling conv on its children. A JS object reached more than
// once (an AMF3 object reference, or a cycle) gets "id" where first written and
// {"t":"ref","id":...} after that.
// A decoded key "__proto__" is assigned with obj[key] = value by both packages, which
// replaces the prototype instead of adding a member: refuse rather than lose it.
function checkProto(v, allowed) {
	if (!allowed.includes(Object.getPrototypeOf(v))) throw new Error('a member or key named "__proto__" replaced the prototype of the decoded JS object (the member is lost)');
}

function noProto(lib, s) {
	if (s === '__proto__') refuse(lib, 'the string "__proto__": as a key it would replace the prototype of the decoded JS object (refused wherever it occurs)');
	return s;
}

function toTagged(root, describe) {
	const shareable = (v) => v !== null && typeof v === 'object';
	const counts = new Map();
	const pass1 = (v) => {
		const leaf = leafTag(v);
		if (leaf) return leaf;
		if (shareable(v)) {
			const c = counts.get(v) || 0;
			counts.set(v, c + 1);
			if (c) return { t: 'ref' };
		}
		return describe(v, pass1);
	};
	pass1(root);
	const ids = new Map();
	const pass2 = (v) => {
		const leaf = leafTag(v);
		if (leaf) return leaf;
		if (shareable(v) && counts.get(v) > 1) {
			if (ids.has(v)) return { t: 'ref', id: ids.get(v) };
			const id = `#${ids.size + 1}`;
			ids.set(v, id);
			const d = describe(v, pass2);
			return Object.assign({ t: d.t, id }, d);
		}
		return describe(v, pass2);
	};
	return pass2(root);
}

// ---------------------------------------------------------------------------
// amf3-ts 1.1.0

const A3 = {};
let A3CTX = null; // the decode in progress (its hooks do nothing outside a decode)

function a3load() {
	if (A3.loaded) return A3;
	A3.Stream = require('amf3-ts').Stream;
	A3.Serializer = require('amf3-ts/dist/core/serializer').Serializer;
	A3.Deserializer = require('amf3-ts/dist/core/deserializer').Deserializer;
	A3.Mapping = require('amf3-ts/dist/utils/mapping').Mapping;
	A3.Reference = require('amf3-ts/dist/utils/reference').Reference;
	a3hooks();
	A3.loaded = true;
	return A3;
}

function a3hooks() {
	const D = A3.Deserializer.prototype;
	const R = A3.Reference.prototype;
	const L = 'amf3-ts';
	const wrap = (name, f) => {
		const orig = D[name];
		D[name] = function (...a) { return A3CTX ? f.call(this, orig, a) : orig.apply(this, a); };
	};
	wrap('deserializeInteger', function (orig, a) { return new Num('int', orig.apply(this, a)); });
	wrap('deserializeDouble', function (orig, a) { return new Num('double', orig.apply(this, a)); });
	wrap('deserializeNull', function () { return new Nil('null'); });
	// Frames: deserialize() pushes a 'value' frame, deserializeArray/Object an 'array'/
	// 'object' one, so a string read while an array or object frame is on top is one
	// of its keys (or its class name), not a value.
	const top = () => A3CTX.frames[A3CTX.frames.length - 1];
	wrap('deserialize', function (orig, a) {
		A3CTX.frames.push({ type: 'value' });
		try {
			return orig.apply(this, a);
		} finally {
			A3CTX.frames.pop();
		}
	});
	wrap('deserializeString', function (orig, a) {
		const s = noProto(L, orig.apply(this, a));
		const fr = top();
		if (fr && fr.keys) fr.keys.push(s);
		return s;
	});
	wrap('deserializeUndefined', function () { return new Nil('undefined'); });
	wrap('deserializeSet', function (orig, a) {
		refuse(L, 'reads marker 0x10 as its own JS Set format (no fixed flag, no type name), not Vector.<Object>');
		return orig.apply(this, a);
	});
	wrap('deserializeMap', function (orig, a) {
		refuse(L, 'reads marker 0x11 as its own JS Map format (no weak-keys flag), not Dictionary');
		return orig.apply(this, a);
	});
	wrap('deserializeByteArray', function (orig, a) {
		const data = this.stream.data;
		const [h, n] = peekU29(data, this.stream.position);
		if (h === 1 && this.stream.position + n < data.length) {
			refuse(L, 'an empty ByteArray that is not the last thing in the input reads all the remaining bytes (readBytes treats length 0 as "everything")');
		}
		return orig.apply(this, a);
	});
	wrap('deserializeArray', function (orig, a) {
		// A mixed array whose first key is inline: amf3-ts peeks at that key
		// (adding it to the string table), rewinds and reads it again (adding it
		// again), so string references to later entries point one entry too early.
		const data = this.stream.data;
		const p = this.stream.position;
		const [h, n] = peekU29(data, p);
		if (h >= 0 && (h & 1) && (h >>> 1) > 0) {
			const [k] = peekU29(data, p + n);
			if (k >= 0 && (k & 1) && (k >>> 1) > 0) {
				const at = this.reference.stringReferences.length + 1;
				if (A3CTX.stringShift === null || at < A3CTX.stringShift) A3CTX.stringShift = at;
			}
		}
		const fr = { type: 'array', keys: [] };
		A3CTX.frames.push(fr);
		let v;
		try {
			v = orig.apply(this, a);
		} finally {
			A3CTX.frames.pop();
		}
		const bad = fr.keys.find((k) => k !== '' && isIndexKey(k));
		if (bad !== undefined) refuse(L, `associative key ${JSON.stringify(bad)} is an array index in JS, so amf3-ts stores it in the dense part`);
		return v;
	});
	wrap('deserializeObject', function (orig, a) {
		const fr = { type: 'object', traits: null, literal: false, placeholder: null, keys: [] };
		A3CTX.frames.push(fr);
		let v;
		try {
			v = orig.apply(this, a);
		} finally {
			A3CTX.frames.pop();
		}
		if (fr.traits) {
			// a literal traits' first string is the class name; '' ends the dynamic members
			const keys = (fr.literal ? fr.keys.slice(1) : fr.keys).filter((k) => k !== '');
			if (!fr.traits.externalizable && new Set(keys).size !== keys.length) refuse(L, 'a member name occurs twice; the JS object keeps one');
			A3CTX.traits.set(v, Object.assign({}, fr.traits, { keys }));
			if (fr.placeholder && fr.placeholder !== v) A3CTX.stale.add(fr.placeholder);
		}
		return v;
	});

	const origAdd = R.add;
	R.add = function (table, value) {
		const c = A3CTX;
		const fr = c && c.frames[c.frames.length - 1];
		if (fr && fr.type === 'object') {
			if (table === 'objectReferences' && !fr.placeholder) fr.placeholder = value;
			if (table === 'traitReferences' && !fr.traits) {
				fr.literal = true;
				fr.traits = typeof value === 'string' ? JSON.parse(value) : Object.assign({}, value);
				if (!fr.traits.externalizable && fr.traits.count >= 2) {
					refuse(L, `sealed traits with ${fr.traits.count} members: amf3-ts reads a name/value pair per member instead of all names then all values`);
				}
			}
		}
		return origAdd.call(this, table, value);
	};
	const origGet = R.get;
	R.get = function (table, ...rest) {
		const r = origGet.call(this, table, ...rest);
		const c = A3CTX;
		if (c && r) {
			const fr = c.frames[c.frames.length - 1];
			if (table === 'traitReferences' && fr && fr.type === 'object') {
				fr.traits = Object.assign({}, this.dereferenced);
				if (!fr.traits.externalizable && fr.traits.count >= 1) {
					refuse(L, 'a trait reference with sealed members: amf3-ts expects the member names again after a trait reference');
				}
			}
			if (table === 'objectReferences' && c.stale.has(this.dereferenced)) {
				refuse(L, 'a reference to a typed (class alias) or externalizable object: amf3-ts keeps the placeholder {} in its reference table, not the object');
			}
			if (table === 'stringReferences' && c.stringShift !== null && this.flags >= c.stringShift) {
				refuse(L, `string reference ${this.flags} after a mixed array: amf3-ts put that array's first key in its string table twice`);
			}
		}
		return r;
	};
}

function a3encode(t) {
	a3load();
	const ctx = { ids: new Map(), mapping: new A3.Mapping(), classes: new Map(), traits: new Set(), ext: new WeakMap() };
	const native = a3build(t, ctx);
	const bytes = new A3.Serializer({ stream: new A3.Stream(), mapping: ctx.mapping }).serialize(native);
	return hex(bytes);
}

function a3class(ctx, alias, externalizable) {
	const have = ctx.classes.get(alias);
	if (have) {
		if (have.externalizable !== externalizable) throw new Invalid(`class ${alias} used both as externalizable and not`);
		return have.K;
	}
	const ext = ctx.ext;
	const K = externalizable
		? class { writeExternal(out) { for (const b of ext.get(this)) out.writeUnsignedByte(b); } readExternal() {} }
		: class {};
	ctx.mapping.registerClassAlias(alias, K);
	ctx.classes.set(alias, { K, externalizable });
	return K;
}

function a3build(t, ctx) {
	const L = 'amf3-ts';
	checkTag(t);
	switch (t.t) {
	case 'undefined': return undefined;
	case 'null': return null;
	case 'bool':
		if (typeof t.v !== 'boolean') throw new Invalid('bool: v must be true or false');
		return t.v;
	case 'int': return intv(t.v);
	case 'double': {
		const n = num(t.v, 'double');
		if ((Number.isInteger(n) && n >= U29_MIN && n <= U29_MAX) || Object.is(n, -0)) {
			refuse(L, `picks the marker from the number: ${fmt(n)} is integral and in the 29-bit range, so it is written with the integer marker`);
		}
		return n;
	}
	case 'string': return str(t.v);
	case 'date': {
		const d = new Date(num(t.v, 'date'));
		register(ctx, t, d);
		return d;
	}
	case 'array': {
		const a = [];
		register(ctx, t, a);
		for (const el of arr(t.dense, 'array.dense')) a.push(a3build(el, ctx));
		for (const [k, v] of entries(t.assoc, 'array.assoc')) {
			checkKey(k, 'array.assoc');
			if (!Number.isNaN(Number(k))) refuse(L, `associative key ${JSON.stringify(k)} looks numeric: amf3-ts writes only keys for which isNaN(key) is true`);
			if (k === 'length') unsupported(L, 'an associative key "length" cannot be set on a JS array');
			defineOwn(a, k, a3build(v, ctx));
		}
		return a;
	}
	case 'object': {
		const cls = t.class === undefined ? '' : str(t.class, 'object.class');
		if (t.externalizable) {
			if (!cls) throw new Invalid('object: an externalizable object needs a class');
			const K = a3class(ctx, cls, true);
			const o = new K();
			ctx.ext.set(o, hexbuf(t.v === undefined ? '' : t.v));
			register(ctx, t, o);
			return o;
		}
		const sealed = pairs(t.sealed, 'object.sealed');
		const dyn = entries(t.dynamic, 'object.dynamic');
		let o;
		if (!cls) {
			if (sealed.length) refuse(L, 'cannot write sealed members without a class (a plain JS object is always written as dynamic)');
			o = {};
		} else {
			if (dyn.length) refuse(L, 'writes objects of a registered class as sealed only (no dynamic members)');
			if (sealed.length >= 2) refuse(L, 'writes sealed member names interleaved with the values (name, value, name, value) instead of all names in the traits; only 0 or 1 sealed members come out right');
			const key = JSON.stringify([cls, sealed.map((p) => p[0])]);
			if (sealed.length && ctx.traits.has(key)) refuse(L, `class ${cls} twice in one value: after a trait reference amf3-ts writes the member names again`);
			ctx.traits.add(key);
			o = new (a3class(ctx, cls, false))();
		}
		register(ctx, t, o);
		const names = [];
		for (const [k, v] of sealed) { checkKey(k, 'object.sealed'); names.push(k); defineOwn(o, k, a3build(v, ctx)); }
		for (const [k, v] of dyn) { checkKey(k, 'object.dynamic'); names.push(k); defineOwn(o, k, a3build(v, ctx)); }
		if (!sameOrder(Object.keys(o), names)) unsupported(L, 'JS objects put integer-like keys first, so these members cannot keep their order');
		return o;
	}
	case 'bytearray': {
		const s = new A3.Stream(Array.from(hexbuf(t.v)));
		register(ctx, t, s);
		return s;
	}
	case 'vector-int': {
		const v = vecInt(t.v, -0x80000000, 0x7fffffff, 'vector-int');
		if (v.some((x) => x < 0)) refuse(L, 'Stream.writeInt rejects negative numbers (its signedOverflow helper is wrong), so a Vector.<int> with negative elements cannot be written');
		const a = Int32Array.from(v);
		if (t.fixed) Object.preventExtensions(a);
		register(ctx, t, a);
		return a;
	}
	case 'vector-uint': {
		const a = Uint32Array.from(vecInt(t.v, 0, 0xffffffff, 'vector-uint'));
		if (t.fixed) Object.preventExtensions(a);
		register(ctx, t, a);
		return a;
	}
	case 'vector-double': {
		const a = Float64Array.from(arr(t.v, 'vector-double').map((x) => num(x, 'vector-double')));
		if (t.fixed) Object.preventExtensions(a);
		register(ctx, t, a);
		return a;
	}
	case 'vector-object': return unsupported(L, 'its marker 0x10 is a JS Set written without the fixed flag and type name, not Vector.<Object>');
	case 'dictionary': return unsupported(L, 'its marker 0x11 is a JS Map written without the weak-keys flag, not Dictionary');
	case 'xml': case 'xmldoc': return unsupported(L, 'has no XML support');
	case 'ref': return lookup(ctx, t);
	}
	throw new Invalid(`unknown tag ${JSON.stringify(t.t)}`);
}

function a3decode(buf) {
	a3load();
	const stream = new A3.Stream(Array.from(buf));
	const extRaw = new WeakMap();
	const classes = new Map();
	const mapping = {
		isRegisteredClassAlias: (name) => typeof name === 'string',
		getDefinitionByName: (name) => {
			if (!classes.has(name)) {
				classes.set(name, class {
					readExternal(input) { // the payload's format is unknown: take every remaining byte
						extRaw.set(this, input.data.slice(input.position));
						input.position = input.data.length;
					}
				});
			}
			return classes.get(name);
		},
	};
	const ctx = { frames: [], traits: new WeakMap(), stale: new WeakSet(), stringShift: null, protos: new Map() };
	A3CTX = ctx;
	let v;
	try {
		v = new A3.Deserializer({ stream, mapping }).deserialize();
	} finally {
		A3CTX = null;
	}
	if (stream.position !== buf.length) throw new Error(`amf3-ts: read ${stream.position} of ${buf.length} bytes`);
	for (const [name, K] of classes) ctx.protos.set(name, K.prototype);
	return toTagged(v, (x, conv) => a3describe(x, conv, ctx, extRaw));
}

function a3describe(v, conv, ctx, extRaw) {
	if (v instanceof Date) return { t: 'date', v: fmt(v.getTime()) };
	if (v instanceof A3.Stream) return { t: 'bytearray', v: hex(v.data) };
	if (v instanceof Int32Array) return { t: 'vector-int', fixed: !Object.isExtensible(v), v: Array.from(v) };
	if (v instanceof Uint32Array) return { t: 'vector-uint', fixed: !Object.isExtensible(v), v: Array.from(v) };
	if (v instanceof Float64Array) return { t: 'vector-double', fixed: !Object.isExtensible(v), v: Array.from(v, fmt) };
	if (Array.isArray(v)) {
		checkProto(v, [Array.prototype]);
		const dense = [];
		for (let i = 0; i < v.length; i++) {
			if (!(i in v)) throw new Error('amf3-ts: the decoded array has a hole');
			dense.push(conv(v[i]));
		}
		const assoc = Object.keys(v).filter((k) => !isIndexKey(k)).map((k) => [k, conv(v[k])]);
		return { t: 'array', dense, assoc: mapOut(assoc) };
	}
	if (v !== null && typeof v === 'object') {
		const tr = ctx.traits.get(v);
		if (!tr) throw new Error(`amf3-ts: unexpected decoded value ${Object.prototype.toString.call(v)}`);
		checkProto(v, [Object.prototype, ctx.protos.get(tr.className)]);
		if (tr.externalizable) return { t: 'object', class: tr.className, externalizable: true, v: hex(extRaw.get(v) || []) };
		const keys = tr.keys;
		if (!sameOrder(Object.keys(v).sort(), keys.slice().sort())) throw new Error('amf3-ts: the decoded object does not have the members it read');
		const sealed = keys.slice(0, tr.count).map((k) => [k, conv(v[k])]);
		const dynamic = keys.slice(tr.count).map((k) => [k, conv(v[k])]);
		return { t: 'object', class: tr.className, sealed, dynamic: mapOut(dynamic) };
	}
	throw new Error(`amf3-ts: unexpected decoded value ${String(v)}`);
}

// ---------------------------------------------------------------------------
// amfjs 1.3.1

const AJ = {};
let AJCTX = null;

function ajload() {
	if (AJ.loaded) return AJ;
	AJ.lib = require('amfjs');
	AJ.T = AJ.lib.AMF3;
	AJ.Ext = class extends AJ.lib.Externalizable {
		constructor(name, bytes) {
			super(name);
			Object.defineProperty(this, '__raw', { value: bytes, enumerable: false });
		}
		write(encoder) { encoder.write(this.__raw); }
	};
	ajhooks();
	aj0hooks();
	AJ.loaded = true;
	return AJ;
}

// Hooks type's decoder (an amfjs AMFType) with f(orig, args), during our decodes only.
function ajwrap(type, f) {
	const orig = type.decode;
	type.decode = function (...a) { return AJCTX ? f.call(this, orig, a) : orig.apply(this, a); };
}
function ajhere(dec) {
	return [dec.readable.buf, dec.readable.pos];
}
// Frames, as for amf3-ts: decode() pushes a 'value' frame, ARRAY/OBJECT an 'array'/
// 'object' one; a string read with an array or object frame on top is its key.
function ajtop() {
	return AJCTX.frames[AJCTX.frames.length - 1];
}
function ajInFrame(fr, f) {
	AJCTX.frames.push(fr);
	try {
		return f();
	} finally {
		AJCTX.frames.pop();
	}
}

function ajhooks() {
	const T = AJ.T;
	const L = 'amfjs';
	const wrap = ajwrap;
	const here = ajhere;
	const top = ajtop;
	const inFrame = ajInFrame;
	wrap(T.INTEGER, function (orig, a) { return new Num('int', orig.apply(this, a)); });
	wrap(T.DOUBLE, function (orig, a) { return new Num('double', orig.apply(this, a)); });
	wrap(T.NULL, function () { return new Nil('null'); });
	const origDecode = AJ.lib.AMFDecoder.prototype.decode;
	AJ.lib.AMFDecoder.prototype.decode = function (...a) {
		return AJCTX ? inFrame({ type: 'value' }, () => origDecode.apply(this, a)) : origDecode.apply(this, a);
	};
	wrap(T.STRING, function (orig, a) {
		const s = noProto(L, orig.apply(this, a));
		const fr = top();
		if (fr && fr.keys) fr.keys.push(s);
		return s;
	});
	wrap(T.UNDEFINED, function () { return new Nil('undefined'); });
	wrap(T.ARRAY, function (orig, a) {
		const [buf, p] = here(this);
		const [h, n] = peekU29(buf, p);
		if (h >= 0 && (h & 1) && (h >>> 1) > 0) {
			const [k] = peekU29(buf, p + n);
			if (k !== 1) refuse(L, 'a mixed array (dense and associative parts): amfjs returns only the associative part and leaves the dense elements unread');
		}
		const fr = { type: 'array', keys: [] };
		const v = inFrame(fr, () => orig.apply(this, a));
		const keys = fr.keys.filter((k) => k !== '');
		if (new Set(keys).size !== keys.length) refuse(L, 'an associative key occurs twice; the JS object keeps one');
		if (v !== null && typeof v === 'object' && !Array.isArray(v)) AJCTX.order.set(v, keys);
		return v;
	});
	const vector = (type, kind) => wrap(type, function (orig, a) {
		const [buf, p] = here(this);
		const [h, n] = peekU29(buf, p);
		let fixed = null;
		if (h >= 0 && (h & 1)) {
			if (h >>> 1 === 0) refuse(L, 'an empty vector: amfjs loops over [0..length-1], which for length 0 reads two elements');
			fixed = buf[p + n] !== 0;
		}
		const v = orig.apply(this, a);
		if (fixed !== null && v !== null && typeof v === 'object') AJCTX.info.set(v, { kind, fixed });
		return v;
	});
	vector(T.VECTOR_INT, 'vector-int');
	vector(T.VECTOR_UINT, 'vector-uint');
	vector(T.VECTOR_DOUBLE, 'vector-double');
	wrap(T.VECTOR_OBJECT, function (orig, a) {
		refuse(L, 'Vector.<Object>: amfjs does not read the type name, so it misreads the elements');
		return orig.apply(this, a);
	});
	wrap(T.DICTIONARY, function (orig, a) {
		const [buf, p] = here(this);
		const [h, n] = peekU29(buf, p);
		let weak = null;
		if (h >= 0 && (h & 1)) {
			if (h >>> 1 === 0) refuse(L, 'an empty Dictionary: amfjs loops over [0..length-1], which for length 0 reads two entries');
			weak = buf[p + n] !== 0;
		}
		const dateJSON = Date.prototype.toJSON; // amfjs JSON.stringify()s every key
		Date.prototype.toJSON = function () { return { __amf: 'date', v: fmt(this.getTime()) }; };
		let v;
		try {
			v = orig.apply(this, a);
		} finally {
			Date.prototype.toJSON = dateJSON;
		}
		if (weak !== null) AJCTX.info.set(v, { kind: 'dictionary', weak });
		return v;
	});
	wrap(T.BYTE_ARRAY, function (orig, a) {
		const v = orig.apply(this, a);
		return typeof v === 'number' ? Buffer.from([v]) : v; // amfjs returns a 1-byte ByteArray as a number
	});
	wrap(T.OBJECT, function (orig, a) {
		const fr = { type: 'object', trait: null, literal: false, keys: [] };
		const v = inFrame(fr, () => orig.apply(this, a));
		const tr = fr.trait;
		if (tr) {
			if (tr.externalizable && tr.name === 'flex.messaging.io.ArrayCollection') {
				refuse(L, 'amfjs unwraps flex.messaging.io.ArrayCollection into its inner array');
			}
			// a literal traits' strings come first: class name, sealed names; '' ends the dynamic members
			const dynamic = (fr.literal ? fr.keys.slice(1 + tr.staticFields.length) : fr.keys).filter((k) => k !== '');
			const all = tr.staticFields.concat(dynamic);
			if (!tr.externalizable && new Set(all).size !== all.length) refuse(L, 'a member name occurs twice; the JS object keeps one');
			AJCTX.traits.set(v, { trait: tr, dynamic });
		}
		return v;
	});
	const extClasses = new Map();
	AJ.lib.AMFDecoder.amf3Externalizables = new Proxy({}, {
		get(target, name) {
			if (typeof name !== 'string') return undefined;
			if (!extClasses.has(name)) {
				extClasses.set(name, {
					read(dec) { // the payload's format is unknown: take every remaining byte
						const r = dec.readable;
						const o = { __ext: name };
						AJCTX.ext.set(o, r.buf.subarray(r.pos));
						r.pos = r.buf.length;
						return o;
					},
				});
			}
			return extClasses.get(name);
		},
	});
}

function ajencode(t) {
	ajload();
	const ctx = { ids: new Map(), traits: new Set(), spec: [], mine: [] };
	const native = ajbuild(t, ctx);
	const chunks = [];
	const enc = new AJ.lib.AMFEncoder({ write(b) { chunks.push(Buffer.from(b)); return true; } });
	enc.writeObject(native, AJ.T);
	return hex(Buffer.concat(chunks));
}

// amfjs puts only string *values* in its string table; member names and class names
// are always written inline (a spec decoder tables those too). These two follow
// both tables in write order and refuse whenever the bytes would differ.
function ajValueString(ctx, s) {
	if (s === '') return;
	const mi = ctx.mine.indexOf(s);
	const si = ctx.spec.indexOf(s);
	if (mi >= 0) {
		if (mi !== si) refuse('amfjs', `its reference to "${s}" would be index ${mi}, but a spec decoder has that string at ${si} (amfjs leaves member and class names out of its string table)`);
		return;
	}
	if (si >= 0) refuse('amfjs', `"${s}" was already written as a member or class name; amfjs writes it inline again instead of as a string reference`);
	ctx.mine.push(s);
	ctx.spec.push(s);
}
function ajName(ctx, s) {
	if (s === '') return;
	if (ctx.spec.includes(s)) refuse('amfjs', `member or class name "${s}" repeats a string already written; amfjs never writes names as string references`);
	ctx.spec.push(s);
}

function ajbuild(t, ctx) {
	const L = 'amfjs';
	const T = AJ.T;
	const FTV = AJ.lib.ForcedTypeValue;
	checkTag(t);
	switch (t.t) {
	case 'undefined': return undefined;
	case 'null': return null;
	case 'bool':
		if (typeof t.v !== 'boolean') throw new Invalid('bool: v must be true or false');
		return t.v;
	case 'int': {
		const n = intv(t.v);
		if (n < 0 || n > 0x1fffff) refuse(L, `its U29 writer gets the 4-byte form wrong (integers >= 2^21 and all negative ones): ${n}`);
		return new FTV(n, T.INTEGER);
	}
	case 'double': return new FTV(num(t.v, 'double'), T.DOUBLE);
	case 'string': {
		const s = str(t.v);
		if (Buffer.byteLength(s) >= 0x100000) refuse(L, 'strings of 1 MiB or more need a 4-byte U29 length, which amfjs writes wrong');
		ajValueString(ctx, s);
		return s;
	}
	case 'date': {
		const d = new Date(num(t.v, 'date'));
		register(ctx, t, d);
		return d;
	}
	case 'array': {
		const dense = arr(t.dense, 'array.dense');
		const assoc = entries(t.assoc, 'array.assoc');
		if (dense.length && assoc.length) refuse(L, 'writes only the dense part of a mixed array (the associative keys are dropped)');
		if (dense.length > 63) refuse(L, 'writes the dense length as one raw byte, wrong for more than 63 elements');
		if (!assoc.length) {
			const a = [];
			register(ctx, t, a);
			for (const el of dense) a.push(ajbuild(el, ctx));
			return a;
		}
		const o = {}; // amfjs writes a plain JS object as an array with only associative keys
		register(ctx, t, o);
		for (const [k, v] of assoc) {
			checkKey(k, 'array.assoc');
			if (k.startsWith('__')) refuse(L, 'skips keys that start with "__"');
			ajName(ctx, k);
			defineOwn(o, k, ajbuild(v, ctx));
		}
		if (!sameOrder(Object.keys(o), assoc.map((e) => e[0]))) unsupported(L, 'JS objects put integer-like keys first, so these keys cannot keep their order');
		return o;
	}
	case 'object': {
		const cls = t.class === undefined ? '' : str(t.class, 'object.class');
		if (t.externalizable) {
			if (!cls) throw new Invalid('object: an externalizable object needs a class');
			if (ctx.traits.has(`ext:${cls}`)) refuse(L, `class ${cls} twice in one value: amfjs never writes trait references`);
			ctx.traits.add(`ext:${cls}`);
			ajName(ctx, cls);
			const o = new AJ.Ext(cls, hexbuf(t.v === undefined ? '' : t.v));
			register(ctx, t, o);
			return o;
		}
		const sealed = pairs(t.sealed, 'object.sealed');
		const dyn = entries(t.dynamic, 'object.dynamic');
		if (!cls && sealed.length) refuse(L, 'cannot write sealed members without a class (an object without a class is always written as dynamic)');
		if (cls && dyn.length) refuse(L, 'writes objects with a class as sealed only (no dynamic members)');
		const key = cls ? JSON.stringify([cls, sealed.map((p) => p[0])]) : 'dynamic';
		if (ctx.traits.has(key)) refuse(L, `the same traits (${cls || 'anonymous dynamic object'}) twice in one value: amfjs never writes trait references, it repeats the traits inline`);
		ctx.traits.add(key);
		const o = new AJ.lib.Serializable(cls || undefined);
		register(ctx, t, o);
		const names = [];
		if (cls) {
			ajName(ctx, cls);
			for (const [k] of sealed) { checkKey(k, 'object.sealed'); ajName(ctx, k); }
			for (const [k, v] of sealed) {
				if (k.startsWith('__')) refuse(L, 'skips members that start with "__"');
				names.push(k);
				defineOwn(o, k, ajbuild(v, ctx));
			}
		} else {
			for (const [k, v] of dyn) {
				checkKey(k, 'object.dynamic');
				if (k.startsWith('__')) refuse(L, 'skips members that start with "__"');
				ajName(ctx, k);
				names.push(k);
				defineOwn(o, k, ajbuild(v, ctx));
			}
		}
		if (!sameOrder(Object.keys(o).filter((k) => !k.startsWith('__')), names)) unsupported(L, 'JS objects put integer-like keys first, so these members cannot keep their order');
		return o;
	}
	case 'bytearray': {
		const b = hexbuf(t.v);
		if (b.length >= 0x100000) refuse(L, 'ByteArrays of 1 MiB or more need a 4-byte U29 length, which amfjs writes wrong');
		register(ctx, t, b);
		return b;
	}
	case 'vector-int': case 'vector-uint': case 'vector-double': case 'vector-object':
		return unsupported(L, 'has no encoder for vectors');
	case 'dictionary': return unsupported(L, 'has no encoder for Dictionary');
	case 'xml': case 'xmldoc': return unsupported(L, 'has no encoder for XML');
	case 'ref': return lookup(ctx, t);
	}
	throw new Invalid(`unknown tag ${JSON.stringify(t.t)}`);
}

// A decoder of buf (read from the start) and the context our hooks keep while it runs.
function ajdecoder(buf) {
	ajload();
	const readable = {
		buf,
		pos: 0,
		read(n) {
			if (this.pos + n > this.buf.length) return null;
			const s = this.buf.subarray(this.pos, this.pos + n);
			this.pos += n;
			return s;
		},
	};
	const dec = new AJ.lib.AMFDecoder(readable);
	const ctx = { frames: [], traits: new WeakMap(), info: new WeakMap(), ext: new WeakMap(), order: new WeakMap() };
	const top = () => ctx.frames[ctx.frames.length - 1];
	dec.amf3TraitReferences = new Proxy([], { // tells which traits each object used
		get(target, k, recv) {
			const v = Reflect.get(target, k, recv);
			if (typeof k === 'string' && isIndexKey(k) && v && top() && top().type === 'object') top().trait = v;
			return v;
		},
		set(target, k, v, recv) {
			if (typeof k === 'string' && isIndexKey(k) && top() && top().type === 'object') Object.assign(top(), { trait: v, literal: true });
			return Reflect.set(target, k, v, recv);
		},
	});
	return { dec, readable, ctx };
}

// Runs dec.decode(type) with our hooks on; the whole input must be read.
function ajread(d, type) {
	AJCTX = d.ctx;
	let v;
	try {
		v = d.dec.decode(type);
	} catch (e) {
		if (e instanceof Refused || e instanceof Unsupported) throw e;
		throw new Error(`amfjs: ${e.message}`);
	} finally {
		AJCTX = null;
	}
	if (d.readable.pos !== d.readable.buf.length) throw new Error(`amfjs: read ${d.readable.pos} of ${d.readable.buf.length} bytes`);
	return v;
}

function ajdecode(buf) {
	const d = ajdecoder(buf);
	const v = ajread(d, AJ.T);
	return toTagged(v, (x, conv) => ajdescribe(x, conv, d.ctx));
}

function ajkey(k) {
	if (k === 'undefined') return { t: 'undefined' };
	let p;
	try {
		p = JSON.parse(k);
	} catch (e) {
		throw new Error(`amfjs: dictionary key ${k} cannot be recovered`);
	}
	if (typeof p === 'string') return { t: 'string', v: p };
	if (typeof p === 'boolean') return { t: 'bool', v: p };
	if (p === null) return { t: 'null' };
	if (p && typeof p === 'object' && typeof p.__amf === 'string' && Object.keys(p).every((x) => x === '__amf' || x === 'v')) {
		return p.v === undefined ? { t: p.__amf } : { t: p.__amf, v: p.v };
	}
	throw new Error(`amfjs: a non-primitive dictionary key is lost (amfjs keeps only JSON.stringify(key)): ${k}`);
}

function ajdescribe(v, conv, ctx) {
	const info = ctx.info.get(v);
	if (info && info.kind.startsWith('vector-')) {
		const conv1 = info.kind === 'vector-uint' ? (x) => x >>> 0 : info.kind === 'vector-double' ? fmt : (x) => x;
		return { t: info.kind, fixed: info.fixed, v: v.map(conv1) };
	}
	if (info && info.kind === 'dictionary') {
		return { t: 'dictionary', weak: info.weak, entries: Object.keys(v).map((k) => [ajkey(k), conv(v[k])]) };
	}
	if (v instanceof Date) return { t: 'date', v: fmt(v.getTime()) };
	if (Buffer.isBuffer(v)) return { t: 'bytearray', v: hex(v) };
	if (Array.isArray(v)) {
		checkProto(v, [Array.prototype]);
		return { t: 'array', dense: v.map(conv), assoc: mapOut([]) };
	}
	if (v !== null && typeof v === 'object') {
		const tr = ctx.traits.get(v);
		const rec = ctx.traits.get(v);
		if (rec) {
			const tr = rec.trait;
			checkProto(v, [AJ.lib.Serializable.prototype, Object.prototype]);
			if (tr.externalizable) return { t: 'object', class: tr.name, externalizable: true, v: hex(ctx.ext.get(v) || []) };
			const sealed = tr.staticFields.map((k) => [k, conv(v[k])]);
			return { t: 'object', class: tr.name, sealed, dynamic: mapOut(rec.dynamic.map((k) => [k, conv(v[k])])) };
		}
		if (Object.getPrototypeOf(v) === Object.prototype && ctx.order.has(v)) { // an array with only associative keys
			return { t: 'array', dense: [], assoc: mapOut(ctx.order.get(v).map((k) => [k, conv(v[k])])) };
		}
	}
	throw new Error(`amfjs: unexpected decoded value ${Object.prototype.toString.call(v)}`);
}

// ---------------------------------------------------------------------------
// @astronautlabs/amf 0.0.6: used only for top-level XML and XMLDocument

const AS = {};

function asload() {
	if (AS.loaded) return AS;
	require('reflect-metadata'); // the package needs it loaded but does not load it itself
	AS.AMF3 = require('@astronautlabs/amf').AMF3;
	AS.AMF0 = require('@astronautlabs/amf').AMF0;
	AS.loaded = true;
	return AS;
}

const AS_NAME = '@astronautlabs/amf';
const AS_ONLY = 'used here only for a top-level xml or xmldoc value (its other types are broken: see README)';

function asencode(t) {
	checkTag(t);
	if (t.t !== 'xml' && t.t !== 'xmldoc') unsupported(AS_NAME, AS_ONLY);
	const s = str(t.v);
	if (Buffer.byteLength(s) >= 0x100000) refuse(AS_NAME, 'its U29 writer gets the 4-byte form wrong (XML of 1 MiB or more)');
	asload();
	const V = AS.AMF3.Value;
	return hex((t.t === 'xml' ? V.xml(s) : V.xmlDocument(s)).serialize());
}

function asdecode(buf) {
	if (buf[0] !== 0x07 && buf[0] !== 0x0b) unsupported(AS_NAME, AS_ONLY);
	const [h, n] = peekU29(buf, 1);
	if (h < 0) throw new Error(`${AS_NAME}: truncated`);
	if (!(h & 1)) unsupported(AS_NAME, 'a top-level value cannot be a reference');
	if (h >= 0x200000) refuse(AS_NAME, 'its U29 reader gets the 4-byte form wrong (XML of 1 MiB or more)');
	if (1 + n + (h >>> 1) !== buf.length) throw new Error(`${AS_NAME}: the value is ${1 + n + (h >>> 1)} bytes, the input ${buf.length}`);
	asload();
	let v;
	try {
		v = AS.AMF3.Value.deserialize(buf);
	} catch (e) {
		throw new Error(`${AS_NAME}: ${e.message.split('\n')[0]}`);
	}
	return { t: buf[0] === 0x07 ? 'xmldoc' : 'xml', v: v.value };
}

// ---------------------------------------------------------------------------
// AMF 0 (modes encode0 and decode0): amfjs, and @astronautlabs/amf for a top-level
// XMLDocument or XML. A tagged value of a type AMF 0 lacks (int, xml, bytearray, the
// vectors, dictionary, an externalizable object) is written behind AMF 0's switch
// marker 0x11, in AMF 3; decode0 prints the AMF 3 value behind a switch as decode does.

const AMF0_TAGS = new Set(['undefined', 'null', 'bool', 'double', 'string', 'xmldoc', 'date', 'array', 'ecma-array', 'object', 'ref']);

function hasAMF0Marker(t) {
	return AMF0_TAGS.has(t.t) && !(t.t === 'object' && t.externalizable);
}

// A Date holds whole milliseconds in ±8.64e15 (or NaN): anything else would change.
function dateMs0(ms) {
	return Number.isNaN(ms) || (Number.isInteger(ms) && !Object.is(ms, -0) && Math.abs(ms) <= 8.64e15);
}

// AMF 0 names (member names, keys, class names) carry a 16-bit UTF-8 length.
function name0(k, what) {
	if (Buffer.byteLength(k) > 0xffff) throw new Invalid(`${what}: ${Buffer.byteLength(k)} bytes: AMF 0 names have a 16-bit length`);
	// amfjs's serialize() picks the long string's 32-bit length from the JS length
	if (k.length >= 0xffff) refuse('amfjs', `${what}: a name of 65535 UTF-16 units gets the long string's 32-bit length`);
}

function member0(k, what) {
	if (k === '') throw new Invalid(`${what}: the empty string cannot be a name (AMF 0 ends an object with it)`);
	name0(k, what);
	if (k.startsWith('__')) refuse('amfjs', `${what}: skips names that start with "__"`);
}

function aj0encode(t) {
	ajload();
	checkTag(t);
	const ctx = { ids: new Map(), traits: new Set(), spec: [], mine: [] };
	const chunks = [];
	const enc = new AJ.lib.AMFEncoder({ write(b) { chunks.push(Buffer.from(b)); return true; } });
	if (hasAMF0Marker(t)) enc.writeObject(aj0build(t, ctx), AJ.lib.AMF0);
	else enc.encode(ajbuild(t, ctx), AJ.T); // amfjs's own switch: 0x11, then the value in AMF 3
	return hex(Buffer.concat(chunks));
}

function aj0build(t, ctx) {
	const L = 'amfjs';
	const T0 = AJ.lib.AMF0;
	const FTV = AJ.lib.ForcedTypeValue;
	checkTag(t);
	if (!hasAMF0Marker(t)) {
		unsupported(L, `${t.t} inside an AMF 0 value: amfjs writes the switch to AMF 3 only for a top-level value (ForcedTypeValue with AMF0.AMF3_OBJECT writes 0x11 twice, then fails)`);
	}
	switch (t.t) {
	case 'undefined': return undefined;
	case 'null': return null;
	case 'bool':
		if (typeof t.v !== 'boolean') throw new Invalid('bool: v must be true or false');
		return t.v;
	case 'double': return num(t.v, 'double');
	case 'string': {
		// amfjs picks the long string from the JS length (>= 65535 UTF-16 units), the spec
		// from the UTF-8 length (> 65535 bytes): force the spec's marker.
		const s = str(t.v);
		return new FTV(s, Buffer.byteLength(s) > 0xffff ? T0.LONG_STRING : T0.STRING);
	}
	case 'date': {
		const ms = num(t.v, 'date');
		if (!dateMs0(ms)) unsupported(L, `date ${fmt(ms)}: a JS Date holds whole milliseconds within ±8.64e15 only`);
		const d = new Date(ms);
		register(ctx, t, d); // AMF 0 has no date references: a ref to it writes it again
		return d;
	}
	case 'array': {
		const dense = arr(t.dense, 'array.dense');
		if (entries(t.assoc, 'array.assoc').length) throw new Invalid('array: an AMF 0 strict array has no associative part (use ecma-array)');
		if (dense.length >= 16) refuse(L, `a strict array of ${dense.length} elements: amfjs writes the 32-bit length as the bytes len>>16, len>>8, len>>4, len (right below 16 only)`);
		const a = [];
		register(ctx, t, a);
		for (const el of dense) a.push(aj0build(el, ctx));
		return a;
	}
	case 'ecma-array': {
		const dense = arr(t.dense, 'ecma-array.dense');
		const assoc = entries(t.assoc, 'ecma-array.assoc');
		for (const [k] of assoc) {
			if (isIndexKey(k) && Number(k) < dense.length) throw new Invalid(`ecma-array: key ${JSON.stringify(k)} is also a dense index`);
		}
		const all = dense.map((v, i) => [String(i), v]).concat(assoc);
		if (new Set(all.map((p) => p[0])).size !== all.length) throw new Invalid('ecma-array: a key occurs twice');
		if (all.length >= 16) refuse(L, `an ECMA array of ${all.length} keys: amfjs writes the 32-bit count as the bytes n>>16, n>>8, n>>4, n (right below 16 only)`);
		const o = {}; // amfjs writes a plain JS object as an ECMA array
		register(ctx, t, o);
		for (const [k, v] of all) {
			member0(k, 'ecma-array key');
			defineOwn(o, k, aj0build(v, ctx));
		}
		if (!sameOrder(Object.keys(o), all.map((p) => p[0]))) unsupported(L, 'JS objects put integer-like keys first, so these keys cannot keep their order');
		return o;
	}
	case 'object': {
		// AMF 0 members are name/value pairs: sealed ones (if any) first, then dynamic ones
		const cls = t.class === undefined ? '' : str(t.class, 'object.class');
		const members = pairs(t.sealed, 'object.sealed').concat(entries(t.dynamic, 'object.dynamic'));
		if (new Set(members.map((p) => p[0])).size !== members.length) throw new Invalid('object: a member name occurs twice');
		if (cls) name0(cls, 'object.class');
		const o = new AJ.lib.Serializable(cls || undefined);
		register(ctx, t, o);
		for (const [k, v] of members) {
			member0(k, 'object member');
			defineOwn(o, k, aj0build(v, ctx));
		}
		if (!sameOrder(Object.keys(o).filter((k) => !k.startsWith('__')), members.map((p) => p[0]))) {
			unsupported(L, 'JS objects put integer-like keys first, so these members cannot keep their order');
		}
		return o;
	}
	case 'xmldoc': return unsupported(L, 'has no AMF 0 XMLDocument (0x0f) encoder');
	case 'ref': return lookup(ctx, t);
	}
	throw new Invalid(`unknown tag ${JSON.stringify(t.t)}`);
}

// Hooks for amfjs's AMF 0 decoders (installed by ajload; they act during aj0decode only,
// and during ajdecode nothing calls them).
function aj0hooks() {
	const T0 = AJ.lib.AMF0;
	const L = 'amfjs';
	const wrap = ajwrap;
	const PENDING = {}; // a slot of the spec's reference table whose object is still being read
	wrap(T0.NUMBER, function (orig, a) { return new Num('double', orig.apply(this, a)); });
	wrap(T0.NULL, function () { return new Nil('null'); });
	wrap(T0.UNDEFINED, function () { return new Nil('undefined'); });
	// a string value is read with readString too: its frame keeps it from the names
	wrap(T0.STRING, function (orig, a) { return ajInFrame({ type: 'value' }, () => orig.apply(this, a)); });
	wrap(T0.LONG_STRING, function (orig, a) {
		const [buf, p] = ajhere(this);
		if (p + 4 <= buf.length && buf.readUInt32BE(p) === 1) refuse(L, 'a long string of 1 byte: readByte(1) returns a number, whose toString("utf8") throws');
		return orig.apply(this, a);
	});
	wrap(T0.DATE, function (orig, a) {
		const [buf, p] = ajhere(this);
		if (p + 8 <= buf.length && !dateMs0(buf.readDoubleBE(p))) refuse(L, `date ${fmt(buf.readDoubleBE(p))}: a JS Date holds whole milliseconds within ±8.64e15 only`);
		return orig.apply(this, a);
	});
	wrap(T0.XML, function () { return unsupported(L, 'has no AMF 0 XMLDocument (0x0f) decoder'); });
	// The spec numbers complex values in the order they begin; amfjs pushes each into its
	// table when it ends (after its members). refs0 is the spec's table, to check each reference.
	const complex = (type, kind) => wrap(type, function (orig, a) {
		const c = AJCTX;
		if (kind === 'strict') {
			const [buf, p] = ajhere(this);
			if (p + 4 <= buf.length) {
				const n = buf.readUInt32BE(p);
				if (n === 0) refuse(L, 'an empty strict array: amfjs loops over [0..length-1], which for length 0 reads two elements');
				if (n >= 0x80000000) refuse(L, 'a strict array length of 2^31 or more: amfjs reads it signed');
			}
		}
		const slot = c.refs0.length;
		c.refs0.push(PENDING);
		const fr = { type: 'object0', keys: [] };
		const v = ajInFrame(fr, () => orig.apply(this, a));
		c.refs0[slot] = v;
		if (kind !== 'strict') {
			const cls = kind === 'typed' ? fr.keys[0] : '';
			const names = fr.keys.slice(kind === 'typed' ? 1 : 0);
			if (names.pop() !== '') refuse(L, 'an object end marker after a non-empty name: amfjs takes it for the end');
			if (names.includes('')) refuse(L, 'an empty member name not followed by the end marker: amfjs reads it as a member');
			if (new Set(names).size !== names.length) refuse(L, 'a member name occurs twice; the JS object keeps one');
			c.info0.set(v, { kind, cls, names });
		}
		return v;
	});
	complex(T0.OBJECT, 'object');
	complex(T0.TYPED_OBJECT, 'typed');
	complex(T0.ECMA_ARRAY, 'ecma');
	complex(T0.STRICT_ARRAY, 'strict');
	wrap(T0.REFERENCE, function (orig, a) {
		const [buf, p] = ajhere(this);
		const c = AJCTX;
		if (p + 2 > buf.length) return orig.apply(this, a);
		const i = buf.readUInt16BE(p);
		if (i >= c.refs0.length) refuse(L, `reference ${i} to an object not yet read: amfjs returns undefined`);
		if (c.refs0[i] === PENDING) refuse(L, `reference ${i} to an object still being read (a cycle): amfjs puts an object in its table only after its members`);
		const v = orig.apply(this, a);
		if (v !== c.refs0[i]) refuse(L, `reference ${i}: amfjs numbers objects in the order they end, the spec in the order they begin, so it finds another one`);
		return v;
	});
	wrap(T0.AMF3_OBJECT, function (orig, a) {
		const c = AJCTX;
		const prev = c.stale;
		c.stale = { strings: this.amf3StringReferences.length > 0, objects: this.amf3ObjectReferences.length > 0, traits: this.amf3TraitReferences.length > 0 };
		try {
			return orig.apply(this, a);
		} finally {
			c.stale = prev;
		}
	});
}

// amfjs keeps one set of AMF 3 tables for all the switches in one input; package amf
// starts fresh ones at each switch. A reference into a table that an earlier switch
// filled would then name another entry: refused. (Only references index the tables:
// push does not, and ARRAY.decode's splice of its placeholder is let through.)
function ajStaleGuard(table, kind) {
	return new Proxy(table, {
		get(target, k, recv) {
			if (k === 'splice') return (...a) => target.splice(...a);
			if (typeof k === 'string' && isIndexKey(k) && AJCTX && AJCTX.stale && AJCTX.stale[kind]) {
				refuse('amfjs', `an AMF 3 ${kind} reference after an earlier switch in the same value: amfjs keeps its AMF 3 tables across switches, package amf starts fresh ones`);
			}
			return Reflect.get(target, k, recv);
		},
	});
}

function aj0decode(buf) {
	const d = ajdecoder(buf);
	const { dec, ctx } = d;
	Object.assign(ctx, { refs0: [], info0: new WeakMap(), stale: null });
	dec.amf3StringReferences = ajStaleGuard(dec.amf3StringReferences, 'strings');
	dec.amf3ObjectReferences = ajStaleGuard(dec.amf3ObjectReferences, 'objects');
	dec.amf3TraitReferences = ajStaleGuard(dec.amf3TraitReferences, 'traits');
	// AMF 0 reads names with readString: record them, in order, for the object being read
	const readString = dec.readString;
	dec.readString = function () {
		const s = readString.call(this);
		const fr = ajtop();
		if (fr && fr.type === 'object0') fr.keys.push(noProto('amfjs', s));
		return s;
	};
	const v = ajread(d, AJ.lib.AMF0);
	return toTagged(v, (x, conv) => aj0describe(x, conv, ctx));
}

function aj0describe(v, conv, ctx) {
	const i0 = v !== null && typeof v === 'object' ? ctx.info0.get(v) : undefined;
	if (!i0) return ajdescribe(v, conv, ctx); // strict arrays, dates, AMF 3 values
	if (i0.kind === 'ecma') {
		checkProto(v, [Object.prototype]);
		// the dense part: the keys "0", "1", ... for as long as they run, as package amf reads it
		const dense = [];
		const taken = new Set();
		for (let i = 0; i0.names.includes(String(i)); i++) {
			dense.push(conv(v[String(i)]));
			taken.add(String(i));
		}
		const assoc = i0.names.filter((k) => !taken.has(k)).map((k) => [k, conv(v[k])]);
		return { t: 'ecma-array', dense, assoc: mapOut(assoc) };
	}
	checkProto(v, [AJ.lib.Serializable.prototype]);
	return { t: 'object', class: i0.cls, sealed: [], dynamic: mapOut(i0.names.map((k) => [k, conv(v[k])])) };
}

// @astronautlabs/amf for AMF 0: a top-level XMLDocument (0x0f), and a top-level XML or
// XMLDocument behind the switch (its AMF 3 XML is right; see the AMF 3 notes).
const AS0_ONLY = 'used here only for a top-level xmldoc, or xml behind the switch';

function as0encode(t) {
	checkTag(t);
	if (t.t !== 'xml' && t.t !== 'xmldoc') unsupported(AS_NAME, AS0_ONLY);
	const s = str(t.v);
	asload();
	const V0 = AS.AMF0.Value;
	if (t.t === 'xmldoc') {
		// its writer sizes the text by JS length, and after a failed write it leaves the
		// bytes in its writer for the next value: never let it fail
		if (Buffer.byteLength(s) !== s.length) refuse(AS_NAME, 'its AMF 0 XMLDocument writer sizes the text by JS length, not UTF-8 bytes: only ASCII comes out right');
		const b = Buffer.from(V0.xmlDocument(s).serialize());
		if (b.length !== 5 + s.length) throw new Error(`${AS_NAME}: wrote ${b.length} bytes for ${s.length}`);
		return hex(b);
	}
	if (Buffer.byteLength(s) >= 0x100000) refuse(AS_NAME, 'its U29 writer gets the 4-byte form wrong (XML of 1 MiB or more)');
	return hex(V0.avmPlus(AS.AMF3.Value.xml(s)).serialize());
}

function as0decode(buf) {
	if (buf[0] === 0x0f) {
		if (buf.length < 5) throw new Error(`${AS_NAME}: truncated`);
		if (5 + buf.readUInt32BE(1) !== buf.length) throw new Error(`${AS_NAME}: the value is ${5 + buf.readUInt32BE(1)} bytes, the input ${buf.length}`);
	} else if (buf[0] === 0x11 && (buf[1] === 0x07 || buf[1] === 0x0b)) {
		const [h, n] = peekU29(buf, 2);
		if (h < 0) throw new Error(`${AS_NAME}: truncated`);
		if (!(h & 1)) unsupported(AS_NAME, 'a top-level value cannot be a reference');
		if (h >= 0x200000) refuse(AS_NAME, 'its U29 reader gets the 4-byte form wrong (XML of 1 MiB or more)');
		if (2 + n + (h >>> 1) !== buf.length) throw new Error(`${AS_NAME}: the value is ${2 + n + (h >>> 1)} bytes, the input ${buf.length}`);
	} else {
		unsupported(AS_NAME, AS0_ONLY);
	}
	asload();
	let v;
	try {
		v = AS.AMF0.Value.deserialize(buf);
	} catch (e) {
		throw new Error(`${AS_NAME}: ${e.message.split('\n')[0]}`);
	}
	return { t: (buf[0] === 0x11 ? buf[1] : buf[0]) === 0x0b ? 'xml' : 'xmldoc', v: v.value };
}

// ---------------------------------------------------------------------------
// the libraries and the fallback chain

const LIBS = {
	'amf3-ts': { encode: a3encode, decode: a3decode },
	amfjs: { encode: ajencode, decode: ajdecode },
	[AS_NAME]: { encode: asencode, decode: asdecode },
};
const CHAIN = ['amf3-ts', 'amfjs', AS_NAME];

const noAMF0 = () => unsupported('amf3-ts', 'has no AMF 0 (its sibling amf0-ts is not installed)');
const LIBS0 = {
	'amf3-ts': { encode: noAMF0, decode: noAMF0 },
	amfjs: { encode: aj0encode, decode: aj0decode },
	[AS_NAME]: { encode: as0encode, decode: as0decode },
};
const CHAIN0 = ['amfjs', AS_NAME];

function errText(e) {
	return e && e.message ? e.message : String(e);
}

// Runs one value through one library, or through the chain ("auto": the first
// library that neither refuses nor throws). Returns {ok, value, lib} or {ok:false, error}.
// libs and chain are LIBS and CHAIN for AMF 3, LIBS0 and CHAIN0 for AMF 0.
function run(lib, dir, input, libs = LIBS, chain = CHAIN) {
	const names = lib === 'auto' ? chain : [lib];
	const errs = [];
	for (const name of names) {
		try {
			const value = libs[name][dir](input);
			return { ok: true, value, lib: name };
		} catch (e) {
			if (e instanceof Invalid) return { ok: false, error: `invalid input: ${e.message}` };
			if (lib === 'auto' && name === AS_NAME && e instanceof Unsupported) continue; // it is there for XML only
			const m = errText(e);
			errs.push(m.startsWith(`${name}:`) ? m : `${name}: ${m}`);
		}
	}
	return { ok: false, error: errs.join('; ') };
}

function encodeOne(lib, t) {
	return run(lib, 'encode', t);
}

function decodeOne(lib, h, amf0 = false) {
	let buf;
	try {
		buf = hexbuf(h);
	} catch (e) {
		return { ok: false, error: errText(e) };
	}
	if (!buf.length) return { ok: false, error: 'empty input' };
	return amf0 ? run(lib, 'decode', buf, LIBS0, CHAIN0) : run(lib, 'decode', buf);
}

function encodeOne0(lib, t) {
	return run(lib, 'encode', t, LIBS0, CHAIN0);
}

function decodeOne0(lib, h) {
	return decodeOne(lib, h, true);
}

// ---------------------------------------------------------------------------
// comparing tagged values (selftest)

function canon(t) {
	const ids = new Map();
	const rid = (id) => {
		if (!ids.has(String(id))) ids.set(String(id), `#${ids.size + 1}`);
		return ids.get(String(id));
	};
	const sortMap = (m) => (Array.isArray(m) ? m : Object.entries(m || {})).map(([k, v]) => [k, c(v)])
		.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
	const n = (x) => fmt(num(x));
	const c = (x) => {
		const o = { t: x.t };
		if (x.id !== undefined) o.id = rid(x.id);
		switch (x.t) {
		case 'int': case 'double': case 'date': o.v = n(x.v); break;
		case 'bool': case 'string': case 'xml': case 'xmldoc': o.v = x.v; break;
		case 'bytearray': o.v = String(x.v).toLowerCase(); break;
		case 'ref': o.id = rid(x.id); break;
		case 'array': case 'ecma-array': o.dense = (x.dense || []).map(c); o.assoc = sortMap(x.assoc); break;
		case 'object':
			o.class = x.class || '';
			if (x.externalizable) { o.externalizable = true; o.v = String(x.v || '').toLowerCase(); break; }
			o.sealed = (x.sealed || []).map(([k, v]) => [k, c(v)]);
			o.dynamic = sortMap(x.dynamic);
			break;
		case 'vector-int': case 'vector-uint': case 'vector-double':
			o.fixed = !!x.fixed; o.v = (x.v || []).map(n); break;
		case 'vector-object': o.class = x.class || ''; o.fixed = !!x.fixed; o.v = (x.v || []).map(c); break;
		case 'dictionary': o.weak = !!x.weak; o.entries = (x.entries || []).map(([k, v]) => [c(k), c(v)]); break;
		}
		return o;
	};
	return JSON.stringify(c(t));
}

// ---------------------------------------------------------------------------
// selftest

const I = (v) => ({ t: 'int', v });
const D = (v) => ({ t: 'double', v });
const S = (v) => ({ t: 'string', v });
const OBJ = (cls, sealed, dynamic) => ({ t: 'object', class: cls, sealed: sealed || [], dynamic: dynamic || {} });

// The canonical sequences from the task (each must decode as the spec says).
const CANONICAL = [
	['integer 0', '0400', I(0)], ['integer 1', '0401', I(1)], ['integer 127', '047f', I(127)],
	['integer 128', '048100', I(128)], ['integer 16383', '04ff7f', I(16383)], ['integer 16384', '04818000', I(16384)],
	['integer 2097151', '04ffff7f', I(2097151)], ['integer 2097152', '0480c08000', I(2097152)],
	['integer 268435455', '04bfffffff', I(268435455)], ['integer -1', '04ffffffff', I(-1)],
	['integer -268435456', '04c0808000', I(-268435456)], ['string "hello"', '060b68656c6c6f', S('hello')],
	['empty string', '0601', S('')], ['true', '03', { t: 'bool', v: true }], ['false', '02', { t: 'bool', v: false }],
	['null', '01', { t: 'null' }], ['undefined', '00', { t: 'undefined' }], ['double 1.5', '053ff8000000000000', D(1.5)],
];

// Hand-written from the AMF3 specification (Flash-style: every reference table used).
// want: which directions each library is expected to get right ('e' encode, 'd' decode);
// a direction not listed must fail with an error, never with different bytes or values.
const GOLDEN = [
	['int -2', I(-2), '04fffffffe', { a3: 'ed', aj: 'd' }],
	['int 2097152', I(2097152), '0480c08000', { a3: 'ed', aj: 'd' }],
	['double 0.1', D(0.1), '053fb999999999999a', { a3: 'ed', aj: 'ed' }],
	['double 2 (integral)', D(2), '054000000000000000', { a3: 'd', aj: 'ed' }],
	['double 2^28', D(268435456), '0541b0000000000000', { a3: 'ed', aj: 'ed' }],
	['double -0', D('-0'), '058000000000000000', { a3: 'd', aj: 'ed' }],
	['double NaN', D('NaN'), '057ff8000000000000', { a3: 'ed', aj: 'ed' }],
	['double -Infinity', D('-Infinity'), '05fff0000000000000', { a3: 'ed', aj: 'ed' }],
	['string utf-8', S('é€'), '060bc3a9e282ac', { a3: 'ed', aj: 'ed' }],
	['string refs ["a","a"]', { t: 'array', dense: [S('a'), S('a')], assoc: {} }, '0905010603610600', { a3: 'ed', aj: 'ed' }],
	['date 0', { t: 'date', v: 0 }, '08010000000000000000', { a3: 'ed', aj: 'ed' }],
	['date 1.5e12', { t: 'date', v: 1500000000000 }, '08014275d3ef79800000', { a3: 'ed', aj: 'ed' }],
	['same date twice', { t: 'array', dense: [{ t: 'date', id: 'd', v: 0 }, { t: 'ref', id: 'd' }], assoc: {} }, '09050108010000000000000000' + '0802', { a3: 'ed', aj: 'ed' }],
	['xmldoc', { t: 'xmldoc', v: '<a/>' }, '07093c612f3e', { as: 'ed' }],
	['xml', { t: 'xml', v: '<a b="é"/>' }, `0b17${Buffer.from('<a b="é"/>').toString('hex')}`, { as: 'ed' }],
	['empty array', { t: 'array', dense: [], assoc: {} }, '090101', { a3: 'ed', aj: 'ed' }],
	['dense [1,2]', { t: 'array', dense: [I(1), I(2)], assoc: {} }, '09050104010402', { a3: 'ed', aj: 'ed' }],
	['dense [null,undefined]', { t: 'array', dense: [{ t: 'null' }, { t: 'undefined' }], assoc: {} }, '0905010100', { a3: 'ed', aj: 'ed' }],
	['assoc only {a:1}', { t: 'array', dense: [], assoc: { a: I(1) } }, '09010361040101', { a3: 'ed', aj: 'ed' }],
	['mixed [1]+{a:1}', { t: 'array', dense: [I(1)], assoc: { a: I(1) } }, '090303610401010401', { a3: 'ed' }],
	['mixed then string ref', { t: 'array', dense: [S('b')], assoc: { a: S('b') } }, '0903036106036201' + '0602', { a3: 'e' }],
	['dynamic {a:1}', OBJ('', [], { a: I(1) }), '0a0b010361040101', { a3: 'ed', aj: 'ed' }],
	['dynamic {}', OBJ('', [], {}), '0a0b0101', { a3: 'ed', aj: 'ed' }],
	['key then value ref {a:"a"}', OBJ('', [], { a: S('a') }), '0a0b0103610600' + '01', { a3: 'ed', aj: 'd' }],
	['two dynamic objects', { t: 'array', dense: [OBJ('', [], { a: I(1) }), OBJ('', [], { b: I(2) })], assoc: {} }, '0905010a0b010361040101' + '0a0103620402' + '01', { a3: 'ed', aj: 'd' }],
	['key string ref', { t: 'array', dense: [OBJ('', [], { a: I(1) }), OBJ('', [], { a: I(2) })], assoc: {} }, '0905010a0b010361040101' + '0a01000402' + '01', { a3: 'ed', aj: 'd' }],
	['same object twice', { t: 'array', dense: [Object.assign({ id: 'o' }, OBJ('', [], {})), { t: 'ref', id: 'o' }], assoc: {} }, '0905010a0b01010a02', { a3: 'ed', aj: 'ed' }],
	['self reference', Object.assign({ id: 's' }, OBJ('', [], { self: { t: 'ref', id: 's' } })), '0a0b0109' + '73656c66' + '0a00' + '01', { a3: 'ed', aj: 'ed' }],
	['typed Foo{}', OBJ('Foo', [], {}), '0a0307466f6f', { a3: 'ed', aj: 'ed' }],
	['typed Foo{x:1}', OBJ('Foo', [['x', I(1)]]), '0a1307466f6f03780401', { a3: 'ed', aj: 'ed' }],
	['typed Foo{x:1,y:2}', OBJ('Foo', [['x', I(1)], ['y', I(2)]]), '0a2307466f6f037803790401' + '0402', { aj: 'ed' }],
	['typed dynamic Foo{x:1|y:2}', OBJ('Foo', [['x', I(1)]], { y: I(2) }), '0a1b07466f6f0378040103790402' + '01', { a3: 'd', aj: 'd' }],
	['anonymous sealed {a:1}', OBJ('', [['a', I(1)]]), '0a1301036104' + '01', { a3: 'd', aj: 'd' }],
	['trait reference', { t: 'array', dense: [OBJ('Foo', [['x', I(1)]]), OBJ('Foo', [['x', I(2)]])], assoc: {} }, '0905010a1307466f6f03780401' + '0a010402', { aj: 'd' }],
	['typed object twice', { t: 'array', dense: [Object.assign({ id: 'f' }, OBJ('Foo', [['x', I(1)]])), { t: 'ref', id: 'f' }], assoc: {} }, '0905010a1307466f6f03780401' + '0a02', { a3: 'e', aj: 'ed' }],
	['externalizable', { t: 'object', class: 'Ext', externalizable: true, v: 'ab' }, '0a0707457874ab', { a3: 'ed', aj: 'ed' }],
	['bytearray', { t: 'bytearray', v: '0102' }, '0c050102', { a3: 'ed', aj: 'ed' }],
	['bytearray 1 byte', { t: 'bytearray', v: 'ff' }, '0c03ff', { a3: 'ed', aj: 'ed' }],
	['empty bytearray', { t: 'bytearray', v: '' }, '0c01', { a3: 'ed', aj: 'ed' }],
	['empty bytearray in array', { t: 'array', dense: [{ t: 'bytearray', v: '' }, I(1)], assoc: {} }, '0905010c010401', { a3: 'e', aj: 'ed' }],
	['vector-int [1,-1]', { t: 'vector-int', fixed: false, v: [1, -1] }, '0d050000000001ffffffff', { a3: 'd', aj: 'd' }],
	['vector-int fixed [7]', { t: 'vector-int', fixed: true, v: [7] }, '0d030100000007', { a3: 'ed', aj: 'd' }],
	['vector-int empty', { t: 'vector-int', fixed: false, v: [] }, '0d0100', { a3: 'ed' }],
	['vector-uint [1,2^32-1]', { t: 'vector-uint', fixed: false, v: [1, 4294967295] }, '0e050000000001ffffffff', { a3: 'ed', aj: 'd' }],
	['vector-double [1.5]', { t: 'vector-double', fixed: false, v: [1.5] }, '0f03003ff8000000000000', { a3: 'ed', aj: 'd' }],
	['vector-object', { t: 'vector-object', class: '', fixed: false, v: [I(1)] }, '100300010401', {}],
	['dictionary {"k":1}', { t: 'dictionary', weak: false, entries: [[S('k'), I(1)]] }, '11030006036b0401', { aj: 'd' }],
	['dictionary weak {1:"v"}', { t: 'dictionary', weak: true, entries: [[I(1), S('v')]] }, '1103010401' + '060376', { aj: 'd' }],
];

// Values encoded by the chain and decoded back (the decode must give the value back).
const ROUNDTRIP = [
	{ t: 'undefined' }, { t: 'null' }, { t: 'bool', v: true }, I(0), I(-268435456), I(268435455), I(12345678),
	D(3.25), D(-1e300), D(2), D('NaN'), D('Infinity'), S(''), S('hello, 世界'), { t: 'date', v: -1000 },
	{ t: 'array', dense: [I(1), S('x'), { t: 'null' }], assoc: { k: S('y'), j: { t: 'bool', v: false } } },
	{ t: 'array', dense: [S('p'), S('q'), S('p'), S('q')], assoc: {} },
	OBJ('', [], { name: S('John'), age: I(42), tags: { t: 'array', dense: [S('a'), S('b')], assoc: {} } }),
	OBJ('com.example.Point', [['x', D(1.5)], ['y', D(-2.5)]]),
	OBJ('com.example.Person', [['name', S('Ann')]]),
	{ t: 'object', class: 'com.example.Blob', externalizable: true, v: '000102ff' },
	{ t: 'bytearray', v: '00ff10' }, { t: 'vector-int', fixed: true, v: [0, 2147483647] },
	{ t: 'vector-uint', fixed: false, v: [0, 4294967295] }, { t: 'vector-double', fixed: false, v: [0.5, -0.25] },
	{ t: 'xml', v: '<root><a/></root>' }, { t: 'xmldoc', v: '<?xml version="1.0"?><r/>' },
	{ t: 'array', dense: [Object.assign({ id: 1 }, OBJ('', [], { v: I(1) })), { t: 'ref', id: 1 }], assoc: {} },
];

// AMF 0, hand-written from the AMF 0 specification (u16/u32: big-endian lengths).
const B = (v) => ({ t: 'bool', v });
const u16 = (n) => n.toString(16).padStart(4, '0');
const utf = (s) => Buffer.from(s).toString('hex');
const ONE = '3ff0000000000000';
const NULLS16 = Array.from({ length: 16 }, () => ({ t: 'null' }));
const GOLDEN0 = [
	['number 1.5', D(1.5), '003ff8000000000000', { aj: 'ed' }],
	['number -0', D('-0'), '008000000000000000', { aj: 'ed' }],
	['number NaN', D('NaN'), '007ff8000000000000', { aj: 'ed' }],
	['number -Infinity', D('-Infinity'), '00fff0000000000000', { aj: 'ed' }],
	['true', B(true), '0101', { aj: 'ed' }],
	['false', B(false), '0100', { aj: 'ed' }],
	['null', { t: 'null' }, '05', { aj: 'ed' }],
	['undefined', { t: 'undefined' }, '06', { aj: 'ed' }],
	['string "hi"', S('hi'), '0200026869', { aj: 'ed' }],
	['string utf-8', S('é€'), '020005c3a9e282ac', { aj: 'ed' }],
	['empty string', S(''), '020000', { aj: 'ed' }],
	['string of 65535 bytes', S('x'.repeat(65535)), `02ffff${'78'.repeat(65535)}`, { aj: 'ed' }],
	['long string of 65536 bytes', S('x'.repeat(65536)), `0c00010000${'78'.repeat(65536)}`, { aj: 'ed' }],
	['long string, utf-8', S('é'.repeat(32768)), `0c00010000${'c3a9'.repeat(32768)}`, { aj: 'ed' }],
	['date 0', { t: 'date', v: 0 }, '0b00000000000000000000', { aj: 'ed' }],
	['date 1.5e12', { t: 'date', v: 1500000000000 }, '0b4275d3ef798000000000', { aj: 'ed' }],
	['date 0.5 (not whole ms)', { t: 'date', v: 0.5 }, '0b3fe00000000000000000', {}],
	['object {}', OBJ('', [], {}), '03000009', { aj: 'ed' }],
	['object {a:1}', OBJ('', [], { a: D(1) }), `03000161${'00' + ONE}000009`, { aj: 'ed' }],
	['typed Foo{x:1}', OBJ('Foo', [], { x: D(1) }), `100003466f6f000178${'00' + ONE}000009`, { aj: 'ed' }],
	['strict array []', { t: 'array', dense: [], assoc: {} }, '0a00000000', { aj: 'e' }],
	['strict array [1,"a"]', { t: 'array', dense: [D(1), S('a')], assoc: {} }, `0a00000002${'00' + ONE}02000161`, { aj: 'ed' }],
	['strict array of 16', { t: 'array', dense: NULLS16, assoc: {} }, `0a00000010${'05'.repeat(16)}`, { aj: 'd' }],
	['ecma array {}', { t: 'ecma-array', dense: [], assoc: {} }, '0800000000000009', { aj: 'ed' }],
	['ecma array [1]+{k:true}', { t: 'ecma-array', dense: [D(1)], assoc: { k: B(true) } }, `0800000002000130${'00' + ONE}00016b0101000009`, { aj: 'ed' }],
	['ecma array of 16 keys', { t: 'ecma-array', dense: NULLS16, assoc: {} },
		`0800000010${NULLS16.map((x, i) => `${u16(String(i).length)}${utf(String(i))}05`).join('')}000009`, { aj: 'd' }],
	['same object twice', { t: 'array', dense: [Object.assign({ id: 'o' }, OBJ('', [], {})), { t: 'ref', id: 'o' }], assoc: {} },
		'0a00000002' + '03000009' + '070001', { aj: 'e' }],
	['reference amfjs resolves', { t: 'array', dense: [Object.assign({ id: 'o' }, OBJ('', [], { in: OBJ('', [], {}) })), { t: 'ref', id: 'o' }], assoc: {} },
		'0a00000002' + '030002696e03000009000009' + '070001', { aj: 'ed' }],
	['self reference', Object.assign({ id: 's' }, OBJ('', [], { self: { t: 'ref', id: 's' } })), '03000473656c66070000000009', { aj: 'e' }],
	['xmldoc', { t: 'xmldoc', v: '<a/>' }, '0f000000043c612f3e', { as: 'ed' }],
	['xmldoc utf-8', { t: 'xmldoc', v: '<a b="é"/>' }, `0f0000000b${utf('<a b="é"/>')}`, { as: 'd' }],
	['switch: bytearray', { t: 'bytearray', v: '0102' }, '110c050102', { aj: 'ed' }],
	['switch: int', I(1), '110401', { aj: 'ed' }],
	['switch: xml', { t: 'xml', v: '<a/>' }, '110b093c612f3e', { as: 'ed' }],
	['switch: vector-int', { t: 'vector-int', fixed: false, v: [1] }, '110d030000000001', { aj: 'd' }],
	['switch in a strict array', { t: 'array', dense: [{ t: 'bytearray', v: '01' }], assoc: {} }, '0a00000001110c0301', { aj: 'd' }],
];

// Bytes no encoder here writes (or not like this), decoded only; want null: all must fail.
const DECODE0 = [
	['boolean byte 2', '0102', B(true)],
	['date with a time zone', `0b${ONE}ffc4`, { t: 'date', v: 1 }],
	['ecma array whose count is off (a hint)', '0800000005000161' + '05' + '000009', { t: 'ecma-array', dense: [], assoc: { a: { t: 'null' } } }],
	['two switches, no reference', '0a00000002110c0301' + '1109050106037a0600',
		{ t: 'array', dense: [{ t: 'bytearray', v: '01' }, { t: 'array', dense: [S('z'), S('z')], assoc: {} }], assoc: {} }],
	['string ref in a later switch', '0a0000000211060361' + '1109050106037a0600', null],
	['long string of 1 byte', '0c0000000161', null],
	['object end after a name', '0300016109', null],
	['reference past the table', '0a00000001070005', null],
];

const ROUNDTRIP0 = [
	D(3.25), D(-1e300), B(false), S('hello, 世界'), { t: 'date', v: -1000 }, { t: 'null' }, { t: 'undefined' },
	OBJ('', [], { name: S('John'), tags: { t: 'array', dense: [S('a'), S('b')], assoc: {} } }),
	OBJ('com.example.Point', [], { x: D(1.5), y: D(-2.5) }),
	{ t: 'ecma-array', dense: [S('a')], assoc: { k: B(false) } },
	{ t: 'xmldoc', v: '<?xml version="1.0"?><r/>' }, { t: 'xml', v: '<root>é</root>' }, { t: 'bytearray', v: '00ff' },
	// amfjs resolves this reference (see "reference amfjs resolves"): the shared object holds one object
	{ t: 'array', dense: [Object.assign({ id: 1 }, OBJ('', [], { o: OBJ('', [], { v: D(1) }) })), { t: 'ref', id: 1 }], assoc: {} },
];

// Long hex (the long strings) is cut short in the tables.
function short0hex(h) {
	return h.length > 60 ? `${h.slice(0, 40)}… (${h.length / 2} bytes)` : h;
}

// One row per case: whether each library encodes the tagged value to the spec's bytes
// and decodes them to the tagged value, against what the case expects. Returns the checks.
function specCases(cases, libs, short, encode, decode, out, fail) {
	const pad = (s, n) => String(s).padEnd(n);
	let checks = 0;
	out(`  ${pad('case', 30)}${libs.map((l) => pad(short[l], 6)).join('')}auto  hex`);
	for (const [name, tagged, h, want] of cases) {
		const cols = [];
		for (const lib of libs) {
			const exp = want[short[lib]] || '';
			let col = '';
			const e = encode(lib, tagged);
			checks++;
			if (e.ok && e.value === h) col += 'e';
			else if (e.ok) { col += 'X'; fail(`${name}: ${lib} encodes ${e.value}, spec ${h}`); }
			else col += '-';
			if (exp.includes('e') !== (col[0] === 'e') && col[0] !== 'X') fail(`${name}: ${lib} encode ${col[0] === 'e' ? 'works but is expected to fail' : `fails: ${e.error}`}`);
			const d = decode(lib, h);
			checks++;
			if (d.ok && canon(d.value) === canon(tagged)) col += 'd';
			else if (d.ok) { col += 'X'; fail(`${name}: ${lib} decodes ${h} as ${JSON.stringify(d.value)}`); }
			else col += '-';
			if (exp.includes('d') !== (col[1] === 'd') && col[1] !== 'X') fail(`${name}: ${lib} decode ${col[1] === 'd' ? 'works but is expected to fail' : `fails: ${d.error}`}`);
			cols.push(col);
		}
		const e = encode('auto', tagged);
		const d = decode('auto', h);
		const auto = `${e.ok ? (e.value === h ? 'e' : 'X') : '-'}${d.ok ? (canon(d.value) === canon(tagged) ? 'd' : 'X') : '-'}`;
		out(`  ${pad(name, 30)}${cols.map((c) => pad(c, 6)).join('')}${pad(auto, 6)}${short0hex(h)}`);
	}
	return checks;
}

// Encodes each value with the chain and decodes it back, which must give the value.
// Returns how many came back.
function roundTrips(values, encode, decode, fail) {
	let ok = 0;
	for (const t of values) {
		const e = encode('auto', t);
		if (!e.ok) { fail(`round trip ${JSON.stringify(t)}: encode: ${e.error}`); continue; }
		const d = decode('auto', e.value);
		if (!d.ok) { fail(`round trip ${JSON.stringify(t)}: decode ${e.value}: ${d.error}`); continue; }
		if (canon(d.value) !== canon(t)) { fail(`round trip ${JSON.stringify(t)} -> ${e.value} -> ${JSON.stringify(d.value)}`); continue; }
		ok++;
	}
	return ok;
}

function selftest() {
	const libs = CHAIN;
	const short = { 'amf3-ts': 'a3', amfjs: 'aj', [AS_NAME]: 'as' };
	let checks = 0;
	const failures = [];
	const fail = (msg) => failures.push(msg);
	const out = (s) => process.stdout.write(`${s}\n`);
	const pad = (s, n) => String(s).padEnd(n);

	out('canonical AMF3 sequences (decode):');
	out(`  ${pad('value', 20)}${pad('hex', 20)}${libs.map((l) => pad(l, 20)).join('')}auto`);
	for (const [name, h, want] of CANONICAL) {
		const cols = [];
		for (const lib of [...libs, 'auto']) {
			const r = decodeOne(lib, h);
			let col;
			if (!r.ok) col = 'error';
			else if (canon(r.value) === canon(want)) col = `ok ${JSON.stringify(r.value.v === undefined ? r.value.t : r.value.v)}`;
			else col = `WRONG ${JSON.stringify(r.value)}`;
			cols.push(col);
			const must = lib === 'auto' || lib !== AS_NAME;
			checks++;
			if (must && !col.startsWith('ok')) fail(`canonical ${name} (${h}) with ${lib}: ${r.ok ? JSON.stringify(r.value) : r.error}`);
			if (!must && col.startsWith('WRONG')) fail(`canonical ${name} (${h}) with ${lib}: wrong ${JSON.stringify(r.value)}`);
		}
		out(`  ${pad(name, 20)}${pad(h, 20)}${cols.slice(0, -1).map((c) => pad(c.length > 18 ? `${c.slice(0, 17)}…` : c, 20)).join('')}${cols[cols.length - 1]}`);
	}

	out('');
	out('spec cases: encode/decode per package (ok, - = refused or unsupported, X = wrong answer)');
	checks += specCases(GOLDEN, libs, short, encodeOne, decodeOne, out, fail);
	out('');
	checks += ROUNDTRIP.length;
	out(`round trips (auto: encode, decode, compare): ${roundTrips(ROUNDTRIP, encodeOne, decodeOne, fail)} of ${ROUNDTRIP.length} values`);

	out('');
	out('AMF 0 spec cases: encode0/decode0 per package');
	checks += specCases(GOLDEN0, CHAIN0, short, encodeOne0, decodeOne0, out, fail);
	out('');
	out('AMF 0 decode-only cases (d = the expected value, - = an error; a case without a value must fail in all)');
	out(`  ${pad('case', 44)}${CHAIN0.map((l) => pad(short[l], 6)).join('')}auto  hex`);
	for (const [name, h, want] of DECODE0) {
		const cols = [];
		for (const lib of [...CHAIN0, 'auto']) {
			const d = decodeOne0(lib, h);
			checks++;
			let col;
			if (!d.ok) col = '-';
			else if (want && canon(d.value) === canon(want)) col = 'd';
			else { col = 'X'; fail(`${name}: ${lib} decodes ${h} as ${JSON.stringify(d.value)}`); }
			if (lib === 'auto' && want && col !== 'd') fail(`${name}: auto decode of ${h} ${d.ok ? 'is wrong' : `fails: ${d.error}`}`);
			cols.push(col);
		}
		out(`  ${pad(name, 44)}${cols.map((c) => pad(c, 6)).join('')}${short0hex(h)}`);
	}
	out('');
	checks += ROUNDTRIP0.length;
	out(`AMF 0 round trips (auto: encode0, decode0, compare): ${roundTrips(ROUNDTRIP0, encodeOne0, decodeOne0, fail)} of ${ROUNDTRIP0.length} values`);

	out('');
	for (const f of failures) out(`FAIL ${f}`);
	if (failures.length) {
		out(`selftest FAILED: ${failures.length} of ${checks} checks`);
		return 1;
	}
	out(`selftest OK: ${checks} checks`);
	return 0;
}

// ---------------------------------------------------------------------------
// main

function usage(msg) {
	if (msg) process.stderr.write(`amfcheck: ${msg}\n`);
	process.stderr.write('usage: node amfcheck.js [--lib auto|amf3-ts|amfjs|astronautlabs] [--raw] [--explain] [--pairs] encode|decode|encode0|decode0|selftest\n');
	process.exit(2);
}

function main(argv) {
	let lib = 'auto';
	let mode = null;
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		if (a === '--raw') RAW = true;
		else if (a === '--explain') EXPLAIN = true;
		else if (a === '--pairs') PAIRS = true;
		else if (a === '--lib' || a.startsWith('--lib=')) lib = a === '--lib' ? argv[++i] : a.slice(6);
		else if (a === '-h' || a === '--help') usage();
		else if (!mode && ['encode', 'decode', 'encode0', 'decode0', 'selftest'].includes(a)) mode = a;
		else usage(`unexpected argument ${JSON.stringify(a)}`);
	}
	if (lib === 'astronautlabs') lib = AS_NAME;
	if (lib !== 'auto' && !LIBS[lib]) usage(`unknown --lib ${JSON.stringify(lib)}`);
	if (!mode) usage('no mode');
	if (mode === 'selftest') process.exit(selftest());

	let input;
	try {
		input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
	} catch (e) {
		usage(`stdin is not JSON: ${e.message}`);
	}
	if (!Array.isArray(input)) usage('stdin must be a JSON array');
	const one = { encode: encodeOne, decode: decodeOne, encode0: encodeOne0, decode0: decodeOne0 }[mode];
	const results = input.map((x, i) => {
		const r = one(lib, x);
		if (EXPLAIN) process.stderr.write(`${i}: ${r.ok ? r.lib : `error: ${r.error}`}\n`);
		if (mode.startsWith('encode')) return r.ok ? r.value : { error: r.error };
		return r.ok ? r.value : { t: 'error', v: r.error };
	});
	process.stdout.write(`${JSON.stringify(results)}\n`);
}

main(process.argv.slice(2));
