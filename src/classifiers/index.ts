/** Assignment 1 classifiers: kNN, the linear losses and the SGD-trained linear classifiers. */
export { KNearestNeighbor, kFoldSplit, crossValidateK } from './kNearestNeighbor';
export type { KnnPredictOptions, NoLoopsOptions, CrossValidateOptions } from './kNearestNeighbor';
export { svmLossNaive, svmLossVectorized } from './linearSvm';
export { softmaxLossNaive, softmaxLossVectorized } from './softmax';
export { LinearClassifier, LinearSVM, Softmax } from './linearClassifier';
export type { LinearTrainOptions } from './linearClassifier';
export type { LossResult } from './inputs';
export { TwoLayerNet, TWO_LAYER_NET_PARAM_NAMES } from './twoLayerNet';
export type {
  TwoLayerNetParams, TwoLayerNetOptions, TwoLayerNetLoss, TwoLayerNetTrainProgress, TwoLayerNetTrainOptions, TwoLayerNetTrainResult,
} from './twoLayerNet';
export { ModularTwoLayerNet, FullyConnectedNet } from './fcNet';
export type { ModularTwoLayerNetOptions, FullyConnectedNetOptions, FcNormalization } from './fcNet';
export { ThreeLayerConvNet } from './cnn';
export type { ThreeLayerConvNetOptions } from './cnn';
