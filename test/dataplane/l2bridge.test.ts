import { trafficSuite } from './traffic';

trafficSuite('win-l2bridge');
