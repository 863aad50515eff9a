import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as G from '../js/state/grid.js';

const ids = (g) => G.visible(g).map((v) => v.camera);

test('layouts 1, 4, 9, 16: tiles on screen and their streams', () => {
  let g = G.withCameras(G.emptyGrid(4), ['a', 'b', 'c', 'd', 'e']);
  assert.deepEqual(ids(g), ['a', 'b', 'c', 'd']);
  assert.ok(G.visible(g).every((v) => v.stream === 'sub'));
  g = G.setLayout(g, 9);
  assert.deepEqual(ids(g), ['a', 'b', 'c', 'd', 'e', null, null, null, null]);
  assert.equal(G.columns(9), 3);
  g = G.setLayout(g, 1);
  assert.deepEqual(G.visible(g), [{ index: 0, camera: 'a', stream: 'main' }]);
  assert.equal(G.setLayout(g, 5), g);  // not a layout: unchanged
  assert.equal(G.columns(16), 4);
});

test('enlarging a tile shows it alone on the main stream; again goes back', () => {
  let g = G.withCameras(G.emptyGrid(4), ['a', 'b', 'c']);
  g = G.toggleEnlarge(g, 2);
  assert.deepEqual(G.visible(g), [{ index: 2, camera: 'c', stream: 'main' }]);
  g = G.toggleEnlarge(g);
  assert.equal(g.enlarged, null);
  assert.equal(g.selected, 2);
  assert.equal(G.toggleEnlarge(g, 3).enlarged, null);  // an empty tile does not enlarge
});

test('placing a camera that is elsewhere swaps the two tiles', () => {
  let g = G.withCameras(G.emptyGrid(4), ['a', 'b', 'c', 'd']);
  g = G.place(g, 0, 'c');
  assert.deepEqual(ids(g), ['c', 'b', 'a', 'd']);
  g = G.clear(g, 1);
  assert.deepEqual(ids(g), ['c', null, 'a', 'd']);
  g = G.removeCamera(g, 'a');
  assert.deepEqual(ids(g), ['c', null, null, 'd']);
});

test('an alarm brings its camera into view: kept, a free tile, then in turn from the last', () => {
  let g = G.withCameras(G.emptyGrid(4), ['a', 'b', 'c']);
  let r = G.bringIntoView(g, 'b');
  assert.equal(r.index, 1);
  assert.equal(r.grid, g);
  r = G.bringIntoView(g, 'x');
  assert.equal(r.index, 3);
  g = r.grid;
  r = G.bringIntoView(g, 'y');
  assert.equal(r.index, 3);
  g = r.grid;
  r = G.bringIntoView(g, 'z');
  assert.equal(r.index, 2);  // the next alarm does not replace y
  assert.deepEqual(ids(r.grid), ['a', 'b', 'z', 'y']);
  // A camera beyond the layout (tile 5 of a 4-grid) comes onto the screen.
  g = G.withCameras(G.emptyGrid(4), ['a', 'b', 'c', 'd', 'e']);
  r = G.bringIntoView(g, 'e');
  assert.ok(r.index < 4);
  assert.ok(ids(r.grid).includes('e'));
  // An enlarged other camera goes back to the grid.
  g = G.toggleEnlarge(g, 0);
  r = G.bringIntoView(g, 'c');
  assert.equal(r.grid.enlarged, null);
  assert.equal(r.index, 2);
});

test('selection moves with the arrows within the layout', () => {
  let g = G.emptyGrid(9);
  g = G.moveSelection(g, 1, 1);
  assert.equal(g.selected, 4);
  g = G.moveSelection(g, 5, 5);
  assert.equal(g.selected, 8);
  g = G.moveSelection(g, -9, 0);
  assert.equal(g.selected, 6);
  assert.equal(G.setLayout(g, 4).selected, 3);
});

test('stored grids: round trip, and junk is dropped, never thrown', () => {
  const g = G.place(G.setLayout(G.emptyGrid(), 16), 5, 'cam-7');
  assert.deepEqual(G.fromStored(JSON.parse(JSON.stringify(G.toStored(g)))).cells, g.cells);
  assert.equal(G.fromStored(G.toStored(g)).layout, 16);
  for (const junk of [null, 3, 'x', [], { layout: 7, cells: 'no' }, { cells: [1, {}, 'a', 'a', ''] }]) {
    const r = G.fromStored(junk);
    assert.ok(G.LAYOUTS.includes(r.layout));
    assert.equal(r.cells.length, G.MAX_TILES);
  }
  assert.deepEqual(G.fromStored({ cells: [1, {}, 'a', 'a', ''] }).cells.slice(0, 5), [null, null, 'a', null, null]);
  assert.equal(G.storageKey('olga'), 'zaulek.grid.olga');
  // A site filter has its own grid; all sites the main one.
  assert.equal(G.storageKey('olga', '3'), 'zaulek.grid.olga.site.3');
  assert.equal(G.storageKey('olga', 'none'), 'zaulek.grid.olga.site.none');
  assert.equal(G.storageKey('olga', ''), 'zaulek.grid.olga');
});

test('only visible cameras stay in a stored grid', () => {
  let g = G.withCameras(G.emptyGrid(4), ['a', 'b', 'c']);
  g = G.toggleEnlarge(g, 1);
  const r = G.retain(g, ['a', 'c', 'z']);
  assert.deepEqual(r.cells.slice(0, 4), ['a', null, 'c', null]);
  assert.equal(r.enlarged, null);
  assert.equal(G.retain(g, ['b']).enlarged, 1);
});
