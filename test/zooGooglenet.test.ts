import { createModel, GoogLeNet } from '../src/models';
import { summary } from '../src/nn';
import { checkZooFixture, expectSummary, loadZooFixture, summarize, type Summary, type ZooFixture } from './zooHarness';
import { quickRun } from './zooQuick';
import { zooInput, zooStateDict } from './zooWeights';

type AuxFixture = ZooFixture & {
  auxTrain: { trainLogits: Summary; aux1: Summary; aux2: Summary; grads: Record<string, Summary>; buffers: Record<string, Summary> };
};

/*
 * torchvision's googlenet at 64×64 (eval logits), with auxiliary heads and transform_input at
 * 64×64 (eval logits and a train step whose loss weighs the auxiliary outputs too), and
 * kuangliu's CIFAR GoogLeNet at 32×32 (eval logits), against make_zoo_googlenet.py.
 */
describe('GoogLeNet', () => {
  it.each([
    ['googlenet', {}, 224, 6_624_904, 1_498_376_192],
    ['googlenet', { auxLogits: true }, 224, 13_004_888, 1_498_376_192],
    ['googlenet_cifar', {}, 32, 6_166_250, 1_521_756_160],
  ] as const)('%s %j: params and MACs at %i as the reference', (name, opts, res, params, macs) => {
    const m = createModel(name, { ...opts, init: false });
    expect(m.numParameters()).toBe(params);
    expect(summary(m, [3, res, res]).macs).toBe(macs);
  });

  it.each(['googlenet', 'googlenet_cifar'])('%s: keys, strict load, eval logits equal PyTorch', (name) => {
    checkZooFixture(loadZooFixture(name), name);
  });

  it('googlenet with auxLogits and transformInput: eval logits, and a train step through the auxiliary heads, equal torchvision', () => {
    const fx = loadZooFixture('googlenet_aux') as AuxFixture;
    checkZooFixture(fx, 'googlenet');
    const m = createModel('googlenet', { ...fx.options, numClasses: 10, dtype: 'float64', init: false }) as GoogLeNet;
    m.loadStateDict(zooStateDict(m), { strict: true });
    m.train();
    const y = m.forward(zooInput(fx.input));
    const want = fx.auxTrain;
    expectSummary('train logits', summarize(y), want.trainLogits, 1e-9);
    const aux = m.auxOutputs!;
    expectSummary('aux1', summarize(aux.aux1), want.aux1, 1e-9);
    expectSummary('aux2', summarize(aux.aux2), want.aux2, 1e-9);
    m.zeroGrad();
    m.backward(zooInput(y.shape, 'dout'), { aux1: zooInput(aux.aux1.shape, 'dout_aux1'), aux2: zooInput(aux.aux2.shape, 'dout_aux2') });
    const params = m.namedParameters();
    expect(params.map(([k]) => k)).toEqual(Object.keys(want.grads));
    for (const [k, p] of params) expectSummary(`grad ${k}`, summarize(p.grad!), want.grads[k], 1e-9);
    for (const [k, b] of m.namedBuffers()) if (want.buffers[k]) expectSummary(`buffer ${k}`, summarize(b as never), want.buffers[k], 1e-9);
    m.eval();
    m.forward(zooInput(fx.input));
    expect(m.auxOutputs).toBeNull();
  });

  // The auxiliary heads' backward is checked against PyTorch above; googlenet_cifar (1.5 GMACs
  // per image) runs one image to keep the test fast.
  it.each([
    ['googlenet', [2, 3, 32, 32]],
    ['googlenet_cifar', [1, 3, 32, 32]],
  ] as const)('%s: forward and backward in Float32 and Float64', (name, shape) => {
    quickRun(name, {}, [...shape]);
  });

  it('rejects impossible options and inputs, naming them', () => {
    expect(() => createModel('googlenet', { auxLogits: 'yes', init: false })).toThrow(/auxLogits: expected true or false/);
    expect(() => createModel('googlenet', { dropoutAux: 1, init: false })).toThrow(/dropoutAux: expected a probability/);
    expect(() => createModel('googlenet_cifar', { auxLogits: true, init: false })).toThrow(/auxLogits: not an option of googlenet_cifar/);
    expect(() => summary(createModel('googlenet', { init: false }), [3, 14, 14])).toThrow(/x: googlenet expects input \(N, 3, H, W\) with H, W ≥ 15/);
    expect(() => summary(createModel('googlenet_cifar', { init: false }), [3, 64, 64])).toThrow(/x: googlenet_cifar expects .* 32×32/);
  });
});
