/**
 * `models`: the model zoo (SPEC §10). Each family file registers its builders on import;
 * `createModel(name, opts)` builds one, `listModels()` lists them.
 */
export * from './registry';
export * from './init';
export * from './resnet';
export * from './mobilenetV2';
export * from './mobilenetV3';
export * from './shufflenetV2';
export * from './shufflenetV1';
export * from './efficientnet';
export * from './mobilenetV1';
export * from './vgg';
export * from './smallNets';
export * from './alexnet';
export * from './googlenet';
export * from './imagenet';
